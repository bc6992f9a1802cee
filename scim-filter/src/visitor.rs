//! Walking the filter AST to translate it into another query language.

use crate::{AttrPath, CompValue, CompareOp, Filter, ValuePath};

/// Translates a [`Filter`] bottom-up into `Self::Output` (an SQL fragment, an LDAP filter,
/// …). [`walk`] drives it; the visitor never re-implements the grammar.
///
/// Inside a valuePath, [`Visitor::enter_value_path`] is called before the inner filter is
/// visited, so the visitor knows which multi-valued attribute the inner (relative) paths
/// belong to; [`Visitor::value_path`] then receives the translated inner filter.
///
/// ```
/// use scim_filter::{walk, AttrPath, CompValue, CompareOp, Filter, ValuePath, Visitor};
///
/// /// Prints an LDAP-style filter.
/// struct Ldap;
/// impl Visitor for Ldap {
///     type Output = String;
///     type Error = String;
///     fn present(&mut self, path: &AttrPath) -> Result<String, String> {
///         Ok(format!("({path}=*)"))
///     }
///     fn compare(&mut self, path: &AttrPath, op: CompareOp, value: &CompValue) -> Result<String, String> {
///         match (op, value) {
///             (CompareOp::Eq, CompValue::String(s)) => Ok(format!("({path}={s})")),
///             (CompareOp::Sw, CompValue::String(s)) => Ok(format!("({path}={s}*)")),
///             _ => Err(format!("{op} is not supported")),
///         }
///     }
///     fn and(&mut self, ops: Vec<String>) -> Result<String, String> { Ok(format!("(&{})", ops.concat())) }
///     fn or(&mut self, ops: Vec<String>) -> Result<String, String> { Ok(format!("(|{})", ops.concat())) }
///     fn not(&mut self, inner: String) -> Result<String, String> { Ok(format!("(!{inner})")) }
///     fn value_path(&mut self, attr: &AttrPath, inner: String) -> Result<String, String> {
///         Ok(inner)
///     }
/// }
///
/// let f: Filter = r#"userName sw "J" and not (title pr)"#.parse().unwrap();
/// assert_eq!(walk(&f, &mut Ldap).unwrap(), "(&(userName=J*)(!(title=*)))");
/// ```
pub trait Visitor {
    /// What a node translates to.
    type Output;
    /// Why a node cannot be translated.
    type Error;

    /// `path pr`.
    fn present(&mut self, path: &AttrPath) -> Result<Self::Output, Self::Error>;
    /// `path op value`.
    fn compare(
        &mut self,
        path: &AttrPath,
        op: CompareOp,
        value: &CompValue,
    ) -> Result<Self::Output, Self::Error>;
    /// An `and` chain, operands already translated.
    fn and(&mut self, operands: Vec<Self::Output>) -> Result<Self::Output, Self::Error>;
    /// An `or` chain, operands already translated.
    fn or(&mut self, operands: Vec<Self::Output>) -> Result<Self::Output, Self::Error>;
    /// `not (inner)`.
    fn not(&mut self, inner: Self::Output) -> Result<Self::Output, Self::Error>;
    /// Called before the inner filter of `attr[...]` is visited.
    fn enter_value_path(&mut self, attr: &AttrPath) -> Result<(), Self::Error> {
        let _ = attr;
        Ok(())
    }
    /// `attr[inner]`, the inner filter already translated.
    fn value_path(
        &mut self,
        attr: &AttrPath,
        inner: Self::Output,
    ) -> Result<Self::Output, Self::Error>;
}

/// Walks `filter` depth-first, handing each node to `visitor`.
///
/// Recursion depth is the filter's nesting depth, which parsing bounds by
/// [`Limits::max_depth`](crate::Limits::max_depth).
pub fn walk<V: Visitor + ?Sized>(filter: &Filter, visitor: &mut V) -> Result<V::Output, V::Error> {
    match filter {
        Filter::Present(path) => visitor.present(path),
        Filter::Compare { path, op, value } => visitor.compare(path, *op, value),
        Filter::ValuePath(ValuePath { attr, filter }) => {
            visitor.enter_value_path(attr)?;
            let inner = walk(filter, visitor)?;
            visitor.value_path(attr, inner)
        }
        Filter::Not(inner) => {
            let inner = walk(inner, visitor)?;
            visitor.not(inner)
        }
        Filter::And(ops) => {
            let ops = ops
                .iter()
                .map(|f| walk(f, visitor))
                .collect::<Result<Vec<_>, _>>()?;
            visitor.and(ops)
        }
        Filter::Or(ops) => {
            let ops = ops
                .iter()
                .map(|f| walk(f, visitor))
                .collect::<Result<Vec<_>, _>>()?;
            visitor.or(ops)
        }
    }
}
