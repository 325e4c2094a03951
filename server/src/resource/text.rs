//! Validated text fields: the bounds of a field (or its allowed values) are written once and serve both
//! create and update (and a list's query).

use super::Patch;
use crate::{auth::model::text_field, error::FieldError};

/// A text field of a request body: trimmed, `min..=max` characters (counted as `char`s).
#[derive(Debug, Clone, Copy)]
pub struct TextRule {
    pub field: &'static str,
    pub min: usize,
    pub max: usize,
}

impl TextRule {
    pub const fn new(field: &'static str, min: usize, max: usize) -> Self {
        TextRule { field, min, max }
    }

    /// The trimmed value, or `None` with its error (loc `["body", field]`) pushed onto `errors`.
    pub fn check(&self, raw: &str, errors: &mut Vec<FieldError>) -> Option<String> {
        self.validate(raw).map_err(|e| errors.push(e)).ok()
    }

    pub fn validate(&self, raw: &str) -> Result<String, FieldError> {
        text_field(raw, &["body", self.field], self.min, self.max)
    }

    /// A PATCH of a field that cannot be empty of a value: see [`Patch::required`].
    pub fn required(&self, patch: &Patch<String>, errors: &mut Vec<FieldError>) -> Option<String> {
        patch.required(self.field, errors, |v| self.validate(v))
    }

    /// A PATCH of a field that `null` clears: see [`Patch::nullable`].
    pub fn nullable(&self, patch: &Patch<String>, errors: &mut Vec<FieldError>) -> Option<Option<String>> {
        patch.nullable(errors, |v| self.validate(v))
    }
}

/// A field whose value is one of `options` (trimmed): "must be one of a, b, c", type `enum`.
#[derive(Debug, Clone, Copy)]
pub struct OneOf {
    pub field: &'static str,
    pub options: &'static [&'static str],
}

impl OneOf {
    pub const fn new(field: &'static str, options: &'static [&'static str]) -> Self {
        OneOf { field, options }
    }

    /// Whether `v` (as is, untrimmed) is one of the options.
    pub fn allows(&self, v: &str) -> bool {
        self.options.contains(&v)
    }

    /// The trimmed value, if it is one of the options; the error at `loc` otherwise.
    pub fn validate(&self, raw: &str, loc: &[&str]) -> Result<String, FieldError> {
        let v = raw.trim();
        self.allows(v).then(|| v.to_string()).ok_or_else(|| self.error(loc))
    }

    pub fn error(&self, loc: &[&str]) -> FieldError {
        FieldError::new(loc, format!("must be one of {}", self.options.join(", ")), "enum")
    }

    /// A PATCH of the field (loc `["body", field]`): see [`Patch::required`].
    pub fn required(&self, patch: &Patch<String>, errors: &mut Vec<FieldError>) -> Option<String> {
        patch.required(self.field, errors, |v| self.validate(v, &["body", self.field]))
    }
}
