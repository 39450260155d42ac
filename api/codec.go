package api

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/converter"

	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/payloadcodec"
	"github.com/riggerdev/rigger/internal/permission"
)

// CodecDeps serve the payload codec endpoint (/api/temporal-codec): the
// Temporal UI (and `temporal --codec-endpoint`) decode encrypted payloads
// through it, as callers who may temporal.payload.decode.
type CodecDeps struct {
	// Codec encrypts the workflows' payloads; nil: no endpoint.
	Codec *payloadcodec.Codec
	// UIOrigin is the Temporal UI's origin (scheme://host:port): browsers
	// there may call the endpoint (CORS, and past the cross-origin guard).
	UIOrigin string
}

const codecPrefix = "/api/temporal-codec"

// codecRoutes mounts POST /api/temporal-codec/decode behind
// authentication and the policy, and answers CORS preflights from the
// Temporal UI's origin. There is no /encode: nobody needs to make
// ciphertext the workers accept (the UI only uses it to start or signal
// workflows by hand). Each decode is audited with the bytes it gave out.
func (s *Server) codecRoutes(e *gin.Engine, api *gin.RouterGroup) {
	if s.deps.Codec.Codec == nil {
		return
	}
	h := http.StripPrefix(codecPrefix, converter.NewPayloadCodecHTTPHandler(s.deps.Codec.Codec))
	g := api.Group("/temporal-codec", s.requireSystem(permission.PayloadDecode, "temporal", "decoding workflow payloads"))
	g.POST("/decode", func(c *gin.Context) {
		s.codecCORS(c)
		w := &countingWriter{ResponseWriter: c.Writer}
		h.ServeHTTP(w, c.Request)
		if c.Writer.Status() == http.StatusOK {
			s.audit(c, "temporal.payload.decode", "temporal", map[string]string{"bytes": strconv.Itoa(w.n), "namespace": clip(c.GetHeader("X-Namespace"), 100)})
		}
	})
	e.OPTIONS(codecPrefix+"/:op", func(c *gin.Context) {
		if !s.codecOrigin(c.GetHeader("Origin")) {
			writeError(c, errs.Forbidden("cross-origin calls to the codec endpoint are allowed from the Temporal UI's origin only"))
			return
		}
		s.codecCORS(c)
		c.Header("Access-Control-Allow-Methods", "POST")
		c.Header("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Namespace")
		c.Header("Access-Control-Max-Age", "600")
		c.Status(http.StatusNoContent)
	})
}

// countingWriter counts the bytes of an answer (what a decode gave away).
type countingWriter struct {
	gin.ResponseWriter
	n int
}

func (w *countingWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.n += n
	return n, err
}

// codecCORS allows the Temporal UI's origin to read the answer.
func (s *Server) codecCORS(c *gin.Context) {
	if o := c.GetHeader("Origin"); s.codecOrigin(o) {
		c.Header("Access-Control-Allow-Origin", o)
		c.Header("Access-Control-Allow-Credentials", "true")
		c.Header("Vary", "Origin")
	}
}

// codecOrigin says whether origin is the Temporal UI's.
func (s *Server) codecOrigin(origin string) bool {
	want := strings.TrimRight(s.deps.Codec.UIOrigin, "/")
	return want != "" && origin != "" && strings.EqualFold(origin, want)
}

// codecRequest says whether r is a call of the codec endpoint from the
// Temporal UI's origin (the cross-origin guard lets it through).
func (s *Server) codecRequest(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, codecPrefix+"/") && s.codecOrigin(r.Header.Get("Origin"))
}

// OriginOf is the scheme://host[:port] of a URL, or "".
func OriginOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
