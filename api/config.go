package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/riggerdev/rigger/internal/liveconfig"
	"github.com/riggerdev/rigger/internal/permission"
)

// ConfigView is the running configuration (liveconfig.Live).
type ConfigView interface {
	Effective() (liveconfig.Effective, error)
}

// configRoutes registers GET /api/config/effective: the running
// configuration with every secret redacted, its generation, when and from
// which file hash it was loaded, the settings that reload live and the
// last refused reload. Admins only (config.read; a service token needs
// the admin scope): the configuration names hosts, networks and policies
// an attacker would like to know.
func (s *Server) configRoutes(g *gin.RouterGroup) {
	if s.deps.Config == nil {
		return
	}
	g.GET("/effective", s.requireSystem(permission.ConfigRead, "config", "reading the running configuration"), s.effectiveConfig)
}

func (s *Server) effectiveConfig(c *gin.Context) {
	e, err := s.deps.Config.Effective()
	if err != nil {
		s.deps.Logger.Error("render the effective configuration", "error", err)
		writeError(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, e)
}
