"""The package version; equal to the Rust crate's (checked by the tests and by the build)."""

__version__ = "0.1.0"
