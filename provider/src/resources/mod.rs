//! Managed resources, one file (or folder) per type.
