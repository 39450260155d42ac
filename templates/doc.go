// Package templates reads Backstage software templates
// (apiVersion scaffolder.backstage.io/v1beta3, kind Template), checks them,
// renders their ${{ }} expressions and compiles them into a Plan that the
// Scaffold workflow interprets.
//
// The package is pure: it does no I/O of any kind (no files, no network, no
// environment, no logging) and imports no other Rigger package. Its inputs are
// bytes and values; its outputs are values and errors.
//
// Expressions follow Backstage, which renders them with Nunjucks: the
// variable delimiters are ${{ and }}, tags are {% %} and comments {# #}.
// The engine is pongo2 v6 in a dedicated, sandboxed TemplateSet (see
// engine.go): Nunjucks source is parsed here (syntax.go, parser.go) and
// translated to a pongo2 document whose expressions call back into an
// evaluator with JavaScript semantics (eval.go), because pongo2's own
// expression language differs from Nunjucks in ways real templates depend
// on (value-returning `or`, `===`, call-style filter arguments, inline if,
// booleans printed as true/false, ...).
//
// Nothing here registers anything with pongo2's process-wide registries: no
// custom tags and no custom filters. Filters are resolved by the evaluator.
package templates
