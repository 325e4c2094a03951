//! One rule for every PATCH field: absent leaves the field as it is, `null` clears a nullable field and
//! is refused (422) on a required one, a value is validated.

use serde::Deserialize;

use crate::error::FieldError;

/// A field that may be absent (leave as is), `null`, or a value. Use with `#[serde(default)]`.
#[derive(Debug, Default, Clone, PartialEq)]
pub enum Patch<T> {
    #[default]
    Absent,
    Null,
    Value(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(d)? {
            None => Patch::Null,
            Some(v) => Patch::Value(v),
        })
    }
}

impl<T> Patch<T> {
    /// A required field: the checked new value, or `None` to leave it (absent, or invalid with its error
    /// pushed). `null` is the error loc `["body", field]`, "must not be null", type `null`.
    pub fn required<U>(
        &self,
        field: &str,
        errors: &mut Vec<FieldError>,
        check: impl FnOnce(&T) -> Result<U, FieldError>,
    ) -> Option<U> {
        match self {
            Patch::Absent => None,
            Patch::Null => {
                errors.push(FieldError::new(&["body", field], "must not be null", "null"));
                None
            }
            Patch::Value(v) => check(v).map_err(|e| errors.push(e)).ok(),
        }
    }

    /// A nullable field: `None` to leave it, `Some(None)` to clear it (`null`), `Some(Some(v))` to set it.
    pub fn nullable<U>(
        &self,
        errors: &mut Vec<FieldError>,
        check: impl FnOnce(&T) -> Result<U, FieldError>,
    ) -> Option<Option<U>> {
        match self {
            Patch::Absent => None,
            Patch::Null => Some(None),
            Patch::Value(v) => check(v).map_err(|e| errors.push(e)).ok().map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Body {
        #[serde(default)]
        a: Patch<String>,
    }

    fn body(json: &str) -> Patch<String> {
        serde_json::from_str::<Body>(json).unwrap().a
    }

    #[test]
    fn absent_null_and_value() {
        assert_eq!(body("{}"), Patch::Absent);
        assert_eq!(body(r#"{"a": null}"#), Patch::Null);
        assert_eq!(body(r#"{"a": "x"}"#), Patch::Value("x".into()));
    }

    #[test]
    fn null_is_refused_on_required_fields_and_clears_nullable_ones() {
        let ok = |v: &String| Ok::<_, FieldError>(v.clone());
        let mut errors = Vec::new();
        assert_eq!(Patch::<String>::Absent.required("a", &mut errors, ok), None);
        assert_eq!(
            Patch::Value("x".to_string()).required("a", &mut errors, ok),
            Some("x".into())
        );
        assert!(errors.is_empty());
        assert_eq!(Patch::<String>::Null.required("a", &mut errors, ok), None);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].loc, vec!["body", "a"]);
        assert_eq!(errors[0].kind, "null");
        let mut errors = Vec::new();
        assert_eq!(Patch::<String>::Absent.nullable(&mut errors, ok), None);
        assert_eq!(Patch::<String>::Null.nullable(&mut errors, ok), Some(None));
        assert_eq!(
            Patch::Value("x".to_string()).nullable(&mut errors, ok),
            Some(Some("x".into()))
        );
        assert!(errors.is_empty());
    }
}
