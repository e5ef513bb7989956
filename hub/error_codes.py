"""Every machine-readable code the hub answers with, and what it means (house rule 5).

A code reaches a caller as `code` of a mutation's problem (InvalidInput, NotPermitted…), as a
`FieldProblem` of one record or row (errors and warnings), or in `errors[].extensions.code` of a
GraphQL or HTTP answer. HubError refuses a code that is not here; tests/test_error_codes.py holds
the source and the README's table against this registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

_CODES: dict[str, str] = {
    # Kinds of expected failure (hub/errors.py): the code when a more precise one is not given.
    "INVALID": "the input breaks a rule",
    "NOT_FOUND": "the object named does not exist",
    "FORBIDDEN": "your role may not call this operation, or may not do it to this object",
    "CONFLICT": "the request conflicts with the current state",
    "UNAUTHENTICATED": "the caller could not be identified",
    # Calling the hub.
    "TOKEN_INVALID": "HTTP 401: the bearer token is missing, malformed or not known",
    "TOKEN_EXPIRED": "HTTP 401: the bearer token has expired",
    "TOKEN_REVOKED": "HTTP 401: the bearer token was revoked",
    "TIMEOUT": "the request took too long and was stopped (see the logs by requestId)",
    "INTERNAL": "the request failed unexpectedly; details only in the logs (by requestId)",
    "UNAVAILABLE": "the service needed is not available in this deployment (e.g. subscriptions)",
    "SUBSCRIPTION_LIMIT_CONNECTION": "too many open subscriptions on this WebSocket connection (HUB_MAX_SUBSCRIPTIONS_PER_CONNECTION)",
    "SUBSCRIPTION_LIMIT_CALLER": "your organisation has too many open subscriptions (HUB_MAX_SUBSCRIPTIONS_PER_CALLER)",
    "SUBSCRIPTION_UNAVAILABLE": "change notifications failed or cannot be reached now; subscribe again with afterId",
    "CATALOG_NOT_LOADED": "the policy catalogue is not loaded into the database (run `credit-hub migrate`)",
    # Identifiers (GB 32100, GB 11714, GB 11643).
    "USCC_LENGTH": "a USCC does not have 18 characters",
    "USCC_CHARACTER": "a USCC holds a character outside GB 32100's alphabet",
    "USCC_AUTHORITY": "a USCC's registration authority (position 1) is not 1-9, A, N or Y",
    "USCC_DIVISION": "a USCC's administrative division (positions 3-8) is not digits",
    "USCC_CHECK": "a USCC's check character (position 18) is wrong",
    "USCC_ORG_CODE_CHECK": "the organisation code embedded in a USCC fails its GB 11714 check",
    "ID_LENGTH": "a resident ID number does not have 18 characters",
    "ID_CHARACTER": "a resident ID number holds a character other than digits and a final X",
    "ID_BIRTH_DATE": "a resident ID number's birth date is not a date",
    "ID_CHECK": "a resident ID number's check character is wrong",
    "ORG_CODE_LENGTH": "an organisation code does not have 9 characters",
    "ORG_CODE_CHARACTER": "an organisation code holds a forbidden character",
    "ORG_CODE_CHECK": "an organisation code's check character is wrong",
    "CODE_PREFIX_MISMATCH": "warning: party category and code prefix disagree (91 organisations, 92 individual businesses)",
    # Fields of a record.
    "REQUIRED": "a required value is missing",
    "UNKNOWN_FIELD": "the record type has no such field",
    "NOT_A_STRING": "the value must be a string",
    "TOO_LONG": "the value is longer than allowed",
    "NOT_A_DATE": "the value is not a date",
    "NOT_A_NUMBER": "the value is not a number",
    "BELOW_MINIMUM": "the number is below the field's minimum",
    "NOT_IN_ENUM": "the value is not one of the field's allowed values",
    "NOT_A_BOOLEAN": "the value is not true/false, 是/否 or 1/0",
    "DATE_ORDER": "two dates of the record are in the wrong order",
    "NUL_CHARACTER": "the value holds a NUL character",
    # Pushing records.
    "UNKNOWN_RECORD_TYPE": "not a record type of the catalogue",
    "NOT_SOURCE": "the record's source unit code is not the pushing organisation",
    "NOT_PUSHER": "your role does not push this record type",
    "NOT_EVALUATOR": "your role does not push this kind of evaluation (e.g. public evaluations come from the province)",
    "DATE_IN_FUTURE": "the decision date is after today",
    "NO_PUBLICITY_RULE": "no publicity rule was in force on the decision date",
    "CALENDAR_YEAR_UNKNOWN": "warning: the working-day calendar lacks the year; lateness not computed",
    "DUPLICATE_IN_PUSH": "the same record twice in one push; the last one counts",
    "DUPLICATE_IN_FILE": "the same record or entity twice in one file; the last one counts",
    "SUBJECT_CHANGED": "a record cannot move to another party",
    "IDEMPOTENCY_KEY_REUSED": "the idempotency key was used before for another body",
    "INVALID_KEY": "the idempotency key is malformed",
    "EMPTY_PUSH": "a push carries no record",
    "TOO_MANY": "more items than one call may carry",
    "NOT_AN_OBJECT": "a JSON argument must be an object",
    # Bulk files.
    "EMPTY_FILE": "the file is empty",
    "UNKNOWN_COLUMN": "the file has a column that is not a field",
    "MISSING_COLUMN": "the file lacks a required column",
    "DUPLICATE_COLUMN": "the file names a column twice",
    "ROW_WIDTH": "a CSV line has more or fewer cells than the header",
    "NOT_JSON": "an NDJSON line is not a JSON object",
    "BAD_CSV": "the CSV cannot be read (a quoted field is never closed)",
    "BAD_ENCODING": "the file is not in the encoding named, or the encoding is not utf-8 or gb18030",
    "FILE_TOO_LARGE": "the file is larger than the hub accepts",
    # Reads.
    "PAGE_SIZE": "`first` is outside the allowed page size",
    "BAD_CURSOR": "the cursor is not one this API gave out",
    "TOO_SHORT": "a name fragment is too short to search by",
    "NOT_PRINTABLE": "a search argument holds control characters",
    "NOT_A_DISTRICT": "not an administrative division code",
    "BAD_ID": "not a well-formed id",
    # Grading: evaluations, schemes, domains.
    "UNKNOWN_SCHEME": "no grading scheme of that code",
    "GRADE_NOT_IN_SCHEME": "the grade is not a level of the scheme",
    "SCHEME_NOT_IN_FORCE": "the grading scheme is not in force on that date",
    "GRADE_SCORE_MISMATCH": "the score does not lie in the grade's band",
    "UNKNOWN_DOMAIN": "no supervision domain of that code",
    "NOT_YOUR_DOMAIN": "the supervision domain is not one of yours (another department answers for it)",
    "SCHEME_NOT_OF_DOMAIN": "the domain grades with another scheme",
    "SCHEME_INVALID": "the grading scheme breaks a rule",
    "LEVEL_REMOVED": "a level in use cannot be removed from a scheme",
    "MEASURES_INVALID": "the supervision measures break a rule",
    "EMPTY": "the list must not be empty",
    # Industry evaluation models, indicator values, grading a domain (seed 001).
    "PUBLIC_INDICATOR_MISSING": "the model lacks the public comprehensive evaluation indicator",
    "PUBLIC_WEIGHT_TOO_LOW": "the public indicator weighs less than the average weight",
    "PUBLIC_INDICATOR_OPTIONAL": "the public indicator may not be optional",
    "WEIGHTS_DO_NOT_SUM": "the indicator weights do not sum to exactly 1",
    "WEIGHT_INVALID": "a weight is not above 0 and at most 1 with at most 4 decimals",
    "RANGE_INVALID": "an indicator's minimum is not below its maximum",
    "DUPLICATE_INDICATOR": "an indicator is given twice",
    "INDICATOR_CODE_INVALID": "an indicator code is not upper-case letters, digits and _",
    "UNKNOWN_KEY": "the model holds a key it does not know",
    "PERIOD_INVALID": "the period is not YYYY, YYYY-H1/H2, YYYY-Q1..Q4 or YYYY-MM",
    "SCHEME_NOT_SCORE_BASED": "the domain's scheme grades by something other than a score",
    "VALUE_OUT_OF_RANGE": "an indicator value lies outside the indicator's minimum and maximum",
    "UNKNOWN_INDICATOR": "not an indicator of the model",
    "MISSING_INDICATOR": "a required indicator value is missing",
    "NO_MODEL": "the domain has no evaluation model for the period",
    "PERIOD_ENDED": "the evaluation period has ended",
    "NO_DEPARTMENT": "no department answers for the domain",
    # Double-random inspections.
    "NOT_A_DEPARTMENT": "only a department keeps an inspector pool",
    "INSPECTOR_ID_FORMAT": "an inspector id is malformed",
    "DUPLICATE": "the same item twice in one call",
    "NAME_LENGTH": "a name does not have 1-100 characters",
    "REASON_LENGTH": "a reason does not have 1-200 characters",
    "UNKNOWN_INSPECTOR": "no inspector of that id in your pool",
    "POOL_TOO_SMALL": "your pool has fewer than two active inspectors",
    "NO_CANDIDATES": "the domain has no entities to draw from",
    "LENGTH": "a text is shorter or longer than allowed",
    "RATIO_OUT_OF_BOUNDS": "a sampling ratio lies outside the domain's measures",
    "RATIO_PRECISION": "a sampling ratio has too many decimals",
    "UNKNOWN_PLAN": "no inspection plan of that id",
    "NOT_YOUR_PLAN": "only the department that committed a plan draws it",
    "ALREADY_DRAWN": "the plan was drawn already; a plan is drawn once",
    "TOO_FEW_INSPECTORS": "a drawn entity has fewer than two inspectors without a conflict; nothing is drawn",
    "FROZEN_LIST_ALTERED": "the stored list no longer matches its published hash; nothing is drawn",
    "NOT_DRAWN": "HTTP 409: the plan has not been drawn yet",
    "WITHHELD": "HTTP 403: the disclosure policy withholds this download from you",
    # Administration: organisations, tokens, the catalogue.
    "ALREADY_EXISTS": "the organisation is registered already",
    "ALREADY_REVOKED": "the token was revoked already",
    "ROLE_NOT_ISSUABLE": "the public role needs no organisation or token",
    "OUT_OF_RANGE": "a number or count is outside the allowed range",
    "CALENDAR_INVALID": "the working-day schedule breaks a rule",
    "RECORD_TYPE_INVALID": "the record type definition breaks a rule",
    "FIELD_REMOVED": "a field holding stored data cannot be removed from a record type",
    "PUBLICITY_INVALID": "the publicity rules break a rule",
}

CODES: Mapping[str, str] = MappingProxyType(_CODES)
"""Code → its meaning, one line for people."""


def is_registered(code: str) -> bool:
    return code in _CODES
