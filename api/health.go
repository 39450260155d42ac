package api

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// healthz answers while the process serves HTTP (liveness).
func (s *Server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readyz runs every readiness check concurrently with a short deadline and is
// 200 only when all pass (Info checks are only reported).
func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	results := make(map[string]string, len(s.deps.Ready))
	info := map[string]bool{}
	for _, chk := range s.deps.Ready {
		info[chk.Name] = chk.Info
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, chk := range s.deps.Ready {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := "ok"
			if err := chk.Check(ctx); err != nil {
				res = err.Error()
			}
			mu.Lock()
			results[chk.Name] = res
			mu.Unlock()
		}()
	}
	wg.Wait()
	status, code := "ok", http.StatusOK
	for name, r := range results {
		if r != "ok" && !info[name] {
			status, code = "unavailable", http.StatusServiceUnavailable
		}
	}
	c.JSON(code, gin.H{"status": status, "checks": results})
}
