"""Operations: the audit log, backup and restore."""
