package api

import "html/template"

// oauthPages are the authorization server's pages: server-rendered, no
// script, every value escaped by html/template.
var oauthPages = template.Must(template.New("oauth").Parse(`
{{define "head"}}<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>Rigger: connect an MCP client</title></head><body>{{end}}
{{define "error"}}{{template "head"}}<h1>This authorization request was refused</h1><p>{{.}}</p><p>Nothing was shared with the application.</p></body></html>{{end}}
{{define "consent"}}{{template "head"}}<h1>Allow {{.Name}} to act as you in Rigger?</h1>
<p>The application <strong>{{.Name}}</strong> (client <code>{{.ID}}</code>) asks to use Rigger's MCP endpoint on your behalf. Rigger will send you back to <strong>{{.Host}}</strong>.</p>
{{if not .Configured}}<p><strong>The application registered itself: Rigger has not verified its name.</strong> Allow it only if you just started connecting it yourself.</p>{{end}}
<p>It will be able to {{if .Write}}read the catalog, docs and tasks you may read, and do what you may do through MCP tools (run templates, register entities), within the server's safety rails.{{else}}read the catalog, docs and tasks you may read, <strong>read-only</strong>: it cannot change anything.{{end}}</p>
<p>It never sees your password. You can end its access by signing out everywhere (POST /api/auth/revocations).</p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="request" value="{{.Request}}">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form></body></html>{{end}}
{{define "signin"}}{{template "head"}}<h1>Sign in to continue</h1><p>Sign in to Rigger, then allow or deny the application.</p><ul>
{{range $i, $n := .Names}}<li><a href="{{index $.Links $i}}">{{$n}}</a></li>{{end}}</ul></body></html>{{end}}
`))
