"""The access log (who read what): append-only entries, an RFC 6962 Merkle tree over them, signed
checkpoints (C2SP signed notes), receipts and `credit-hub audit verify`."""
