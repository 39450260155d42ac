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
//
// Where expressions knowingly differ from Backstage/Nunjucks:
//   - null and undefined are one value (nil): a JSON null parameter and a
//     missing one behave the same, and `dump` of either prints nothing;
//   - object keys come out sorted (in dump, list, urlencode and object
//     loops), since decoded YAML has no key order;
//   - == and === compare arrays and objects by content, not identity;
//   - string indexes and lengths count Unicode code points, not UTF-16 units;
//   - regular expression literals use Go's RE2 syntax (no backreferences or
//     lookaround), which makes them linear-time;
//   - parseRepoUrl has no SCM integration config to consult: it requires
//     repo and one of owner, organization, workspace or project;
//   - not supported: the include, import, from, extends, block, macro, call
//     and filter tags, block-form set, slices (a[1:2]), keyword arguments,
//     the globals cycler and joiner, and the filters random, groupby,
//     dictsort, batch, slice, center, nl2br, urlize and forceescape. Each
//     is a clear error when a template is validated or rendered.
//
// Templates of apiVersion backstage.io/v1beta2 and older are refused by
// Parse: they use handlebars-style {{ }} expressions, a different language.
package templates
