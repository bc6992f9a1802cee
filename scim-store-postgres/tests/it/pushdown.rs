//! What is pushed down to SQL.
