"""The replicated node table: signed single-writer records, merged by a pure function."""
