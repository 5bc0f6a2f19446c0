"""The `linclf` command."""
