package templates

import (
	"reflect"
	"testing"
)

func TestRecallDropsSensitiveFields(t *testing.T) {
	const params = `- title: Service
  properties:
    name: {type: string}
    token: {type: string, ui:field: Secret}
    password: {type: string, ui:widget: password}
    masked: {type: string, ui:backstage: {review: {mask: '****'}}}
    unshown: {type: string, ui:backstage: {review: {show: false}}}
    shown: {type: string, ui:backstage: {review: {show: true}}}
    db:
      type: object
      properties:
        host: {type: string}
        pass: {type: string, ui:widget: password}
    keys:
      type: array
      items: {type: string, ui:field: Secret}
    users:
      type: array
      items:
        type: object
        properties:
          login: {type: string}
          pat: {type: string, ui:field: Secret}
    tags: {type: array, items: {type: string}}
    creds:
      type: object
      additionalProperties: {type: string, ui:widget: password}
    pairs:
      type: array
      items: [{type: string}, {type: string, ui:field: Secret}]
    grid: {type: array, items: {type: array, items: {type: string, ui:widget: password}}}
    pin: {type: string, ui:options: {inputType: password}}
    otp: {type: string, format: password}
  dependencies:
    name:
      oneOf:
        - properties:
            apiKey: {type: string, ui:widget: password}
- title: Again
  properties:
    name: {type: string, ui:widget: password}
    region: {type: string}
`
	tpl := templateWith(t, params, "- action: debug:log\n  input: {message: hi}\n", "")
	values := map[string]any{
		"name": "svc", "token": "t0k", "password": "pw", "masked": "m", "unshown": "u", "shown": "s",
		"db":    map[string]any{"host": "h", "pass": "p"},
		"keys":  []any{"k1"},
		"users": []any{map[string]any{"login": "l", "pat": "x"}},
		"tags":  []any{"a", "b"},
		"creds": map[string]any{"db": "p"}, "pairs": []any{"a", "s"}, "grid": []any{[]any{"x"}}, "pin": "1234", "otp": "9",
		"apiKey": "ak", "region": "eu", "extra": "kept",
	}
	got := Recall(tpl, values)
	want := map[string]any{
		// name is a password on page 2: any page marking a key drops it.
		"shown": "s", "db": map[string]any{"host": "h"}, "tags": []any{"a", "b"}, "region": "eu", "extra": "kept",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Recall =\n %v\nwant\n %v", got, want)
	}
	if values["token"] != "t0k" || values["db"].(map[string]any)["pass"] != "p" {
		t.Fatalf("Recall modified its input: %v", values)
	}
	if Recall(tpl, nil) != nil {
		t.Fatal("Recall(nil) is not nil")
	}
	// RedactValues masks what Recall drops, in place, at any depth.
	red := RedactValues(tpl, values, "[x]")
	wantRed := map[string]any{"name": "[x]", "token": "[x]", "password": "[x]", "masked": "[x]", "unshown": "[x]", "shown": "s",
		"db": map[string]any{"host": "h", "pass": "[x]"}, "keys": "[x]", "users": "[x]", "tags": []any{"a", "b"},
		"creds": "[x]", "pairs": "[x]", "grid": "[x]", "pin": "[x]", "otp": "[x]", "apiKey": "[x]", "region": "eu", "extra": "kept"}
	if !reflect.DeepEqual(red, wantRed) {
		t.Fatalf("RedactValues =\n %v\nwant\n %v", red, wantRed)
	}
	// MaskSecretFields masks only the ui:field: Secret ones (a list of
	// them whole); password fields are values.
	sec := MaskSecretFields(tpl, values, "[s]")
	for k, want := range map[string]any{"token": "[s]", "keys": "[s]", "users": "[s]", "pairs": "[s]", "password": "pw", "pin": "1234", "otp": "9", "name": "svc"} {
		if !reflect.DeepEqual(sec[k], want) {
			t.Errorf("MaskSecretFields[%s] = %v, want %v", k, sec[k], want)
		}
	}
}
