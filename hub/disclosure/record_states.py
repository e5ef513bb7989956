"""Which record states each caller may see (issue 9): the state machine's half of the gate.

A record's state (hub.records.states) decides whether it leaves at all, beside the archive scope
(which records a caller lists) and the field rulings (what of a record it sees):

| state          | public, other entities, bank, association | department | province | own entity, credit office |
|----------------|-------------------------------------------|------------|----------|---------------------------|
| published      | shown (under publicity)                    | shown      | shown    | shown                     |
| disputed       | shown, marked 异议中                        | shown, marked | shown, marked | shown, marked      |
| corrected      | shown (the corrected version)              | shown      | shown    | shown                     |
| upheld         | shown                                      | shown      | shown    | shown                     |
| both_recorded  | shown, both sides                          | shown      | shown    | shown                     |
| shielded       | withheld (暂时屏蔽)                           | shown      | shown    | shown                     |
| expired        | withheld (past the maximum period)         | shown      | shown    | shown                     |
| repaired       | withheld (publication and sharing stop)    | withheld   | withheld | shown, marked 已修复        |
| revoked        | withheld                                   | withheld   | withheld | shown, marked 已撤销        |

NDRC Order 36: repair stops publication, sharing with departments and third parties, and use. The
province learns of a repair by its withdrawal event (record.repaired), not by reading it again.
Shielding and expiry stop publication only: departments still supervise with the record.
"""

from __future__ import annotations

from hub.auth.caller import Caller, Role

_PUBLIC_WITHHELD = frozenset({"shielded", "expired", "repaired", "revoked"})
_SHARING_WITHHELD = frozenset({"repaired", "revoked"})

WITHHELD_BY_ROLE: dict[Role, frozenset[str]] = {
    Role.PUBLIC: _PUBLIC_WITHHELD,
    Role.ENTITY: _PUBLIC_WITHHELD,  # another entity's records; its own: nothing withheld
    Role.BANK: _PUBLIC_WITHHELD,
    Role.ASSOCIATION: _PUBLIC_WITHHELD,
    Role.DEPARTMENT: _SHARING_WITHHELD,
    Role.PROVINCE: _SHARING_WITHHELD,
    Role.CREDIT_OFFICE: frozenset(),
}


def withheld_states(caller: Caller, uscc: str) -> frozenset[str]:
    """The states in which `uscc`'s records do not leave to `caller`."""
    if caller.role is Role.ENTITY and caller.organisation_code == uscc:
        return frozenset()
    return WITHHELD_BY_ROLE.get(caller.role, _PUBLIC_WITHHELD)
