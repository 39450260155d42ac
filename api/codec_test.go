package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/payloadcodec"
)

// TestCodecEndpoint: the Temporal UI's codec endpoint decodes what the
// codec encrypted for callers allowed temporal.payload.decode (rigger
// dev's guest, admins), refuses other users, and answers CORS only for
// the Temporal UI's origin.
func TestCodecEndpoint(t *testing.T) {
	codec, err := payloadcodec.New("k1", payloadcodec.Key{ID: "k1", Secret: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	p, err := payloadcodec.DataConverter(codec).ToPayload(map[string]string{"name": "payments"})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"payloads": []any{map[string]any{"metadata": p.Metadata, "data": p.Data}}})
	const ui = "http://127.0.0.1:8233"
	call := func(srv *Server, method, path, origin, token string, b []byte) *httptest.ResponseRecorder {
		req := loopbackRequest(method, path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, req)
		return w
	}
	dev := New(Deps{Logger: discardLogger(), Dev: true, Auth: auth.Guest{}, Codec: CodecDeps{Codec: codec, UIOrigin: ui}})
	w := call(dev, "POST", "/api/temporal-codec/decode", ui, "", body)
	if w.Code != http.StatusOK || w.Header().Get("Access-Control-Allow-Origin") != ui {
		t.Fatalf("decode from the Temporal UI: %d %s %v", w.Code, w.Body, w.Header())
	}
	var out struct{ Payloads []struct{ Data []byte } }
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || len(out.Payloads) != 1 || string(out.Payloads[0].Data) != `{"name":"payments"}` {
		t.Fatalf("decoded: %s (%v)", w.Body, err)
	}
	if w := call(dev, "POST", "/api/temporal-codec/encode", ui, "", body); w.Code == http.StatusOK || strings.Contains(w.Body.String(), "payloads") {
		t.Errorf("encode: %d %s, want it refused (nobody needs to make ciphertext)", w.Code, w.Body)
	}
	if w := call(dev, "OPTIONS", "/api/temporal-codec/decode", ui, "", nil); w.Code != http.StatusNoContent || w.Header().Get("Access-Control-Allow-Headers") == "" {
		t.Errorf("preflight from the Temporal UI: %d %v", w.Code, w.Header())
	}
	for _, origin := range []string{"http://evil.example", "http://127.0.0.1:8234"} {
		if w := call(dev, "OPTIONS", "/api/temporal-codec/decode", origin, "", nil); w.Code != http.StatusForbidden {
			t.Errorf("preflight from %s: %d", origin, w.Code)
		}
		if w := call(dev, "POST", "/api/temporal-codec/decode", origin, "", body); w.Code != http.StatusForbidden || w.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("decode from %s: %d %v", origin, w.Code, w.Header())
		}
	}

	// Signed-in users: only admins decode.
	ts := newTokenServer(t)
	srv := New(Deps{Logger: discardLogger(), Auth: auth.Chain{Issuer: ts.issuer}, Codec: CodecDeps{Codec: codec, UIOrigin: ui},
		Tokens: TokenDeps{Issuer: ts.issuer, Admins: []string{"group:default/platform"}}})
	for _, c := range []struct {
		id   auth.Identity
		want int
	}{
		{auth.Identity{Ref: "user:default/alice", Ent: []string{"user:default/alice"}}, http.StatusForbidden},
		{auth.Identity{Ref: "user:default/root", Ent: []string{"user:default/root", "group:default/platform"}}, http.StatusOK},
	} {
		tok, _, err := ts.issuer.Issue(t.Context(), c.id)
		if err != nil {
			t.Fatal(err)
		}
		if w := call(srv, "POST", "/api/temporal-codec/decode", "", tok, body); w.Code != c.want {
			t.Errorf("%s: %d %s, want %d", c.id.Ref, w.Code, w.Body, c.want)
		}
	}
	if w := call(srv, "POST", "/api/temporal-codec/decode", "", "", body); w.Code != http.StatusUnauthorized {
		t.Errorf("without a token: %d", w.Code)
	}
}
