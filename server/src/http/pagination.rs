//! Offset pagination shared by every list (spec §3): `page` ≥ 1, `page_size` 1..=100, exact totals.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, FieldError};

pub const DEFAULT_PAGE_SIZE: i64 = 20;
pub const MAX_PAGE_SIZE: i64 = 100;

/// Raw paging parameters as they arrive in the query string.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page number, from 1 (offset mode).
    pub page: Option<i64>,
    /// Items per page, 1..=100 (default 20).
    pub page_size: Option<i64>,
}

/// Validated offset paging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub page: i64,
    pub page_size: i64,
}

impl Paging {
    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.page_size
    }
}

impl PageQuery {
    pub fn validate(&self) -> Result<Paging, ApiError> {
        let mut errors = Vec::new();
        let page = self.page.unwrap_or(1);
        if page < 1 {
            errors.push(FieldError::new(&["query", "page"], "must be at least 1", "range"));
        }
        let page_size = self.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
            errors.push(FieldError::new(
                &["query", "page_size"],
                "must be between 1 and 100",
                "range",
            ));
        }
        // Offsets beyond i64 would overflow; no real list is that long.
        if page > i64::MAX / MAX_PAGE_SIZE {
            errors.push(FieldError::new(&["query", "page"], "is too large", "range"));
        }
        if errors.is_empty() {
            Ok(Paging { page, page_size })
        } else {
            Err(ApiError::validation(errors))
        }
    }
}

/// A page in offset mode.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
    /// `ceil(total / page_size)`, 0 when empty.
    pub pages: i64,
}

impl<T> Page<T> {
    pub fn new(items: Vec<T>, total: i64, paging: Paging) -> Self {
        Page {
            items,
            total,
            page: paging.page,
            page_size: paging.page_size,
            pages: (total + paging.page_size - 1) / paging.page_size,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        let q = |page, page_size| PageQuery { page, page_size }.validate();
        assert_eq!(q(None, None).unwrap(), Paging { page: 1, page_size: 20 });
        assert!(q(Some(0), None).is_err());
        assert!(q(None, Some(0)).is_err());
        assert!(q(None, Some(101)).is_err());
        assert!(q(Some(i64::MAX), None).is_err());
        assert_eq!(q(Some(3), Some(100)).unwrap().offset(), 200);
    }

    #[test]
    fn pages_round_up() {
        let p = Paging { page: 1, page_size: 20 };
        assert_eq!(Page::<()>::new(vec![], 0, p).pages, 0);
        assert_eq!(Page::<()>::new(vec![], 20, p).pages, 1);
        assert_eq!(Page::<()>::new(vec![], 21, p).pages, 2);
    }
}
