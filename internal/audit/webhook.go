package audit

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"
)

// KindAlert is the kind of the JSON a webhook receives: a Line holding the
// alert event as stored, with its seq and hash in the chain (0 and "" if
// storing it failed).
const KindAlert = "audit.alert"

// Webhook is where a rule's alerts are POSTed as JSON.
type Webhook struct {
	// URL may hold a credential (Slack's do): logs name its host only.
	URL string
	// Headers go with every POST (Authorization, say); never logged.
	Headers http.Header
}

// WebhookOptions configure how alerts reach webhooks. Each rule with a
// webhook has one goroutine that POSTs its alerts one at a time from a
// bounded queue; an alert that finds the queue full is dropped and counted
// (Log.WebhookDropped), so a slow or dead receiver never holds up the
// audit log, let alone a request. A failed POST is logged, not retried.
type WebhookOptions struct {
	// Client sends the POSTs: netguard's client, which refuses hosts outside
	// its allow-list and non-public addresses. Required for webhooks.
	Client *http.Client
	// Timeout bounds one POST [10s].
	Timeout time.Duration
	// Queue is how many alerts may wait per webhook [100].
	Queue int
}

// sender delivers one rule's alerts to its webhook.
type sender struct {
	rule    string
	hook    Webhook
	host    string
	client  *http.Client
	timeout time.Duration
	logger  *slog.Logger
	queue   chan []byte
	dropped atomic.Int64
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
}

func newSender(rule string, h Webhook, o WebhookOptions, logger *slog.Logger) *sender {
	if o.Timeout <= 0 {
		o.Timeout = defaultWebhookTimeout
	}
	if o.Queue <= 0 {
		o.Queue = defaultWebhookQueue
	}
	host := "(unparseable URL)"
	if u, err := url.Parse(h.URL); err == nil {
		host = u.Host
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &sender{rule: rule, hook: h, host: host, client: o.Client, timeout: o.Timeout,
		logger: logger.With("rule", rule, "webhookHost", host), queue: make(chan []byte, o.Queue),
		ctx: ctx, cancel: cancel, done: make(chan struct{})}
	go s.run()
	return s
}

// enqueue queues body without ever waiting.
func (s *sender) enqueue(body []byte) {
	select {
	case s.queue <- body:
	default:
		if n := s.dropped.Add(1); n == 1 || n%100 == 0 {
			s.logger.Warn("audit alert webhook queue full: alert dropped (not sent; it is in the audit log)", "droppedTotal", n)
		}
	}
}

func (s *sender) run() {
	defer close(s.done)
	var abandoned int64
	for body := range s.queue {
		if s.ctx.Err() != nil {
			abandoned++
			continue
		}
		s.post(body)
	}
	if abandoned > 0 {
		s.dropped.Add(abandoned)
		s.logger.Warn("audit alert webhooks not sent: the audit log closed first", "count", abandoned)
	}
}

func (s *sender) post(body []byte) {
	ctx, cancel := context.WithTimeout(s.ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.hook.URL, bytes.NewReader(body))
	if err != nil {
		s.logger.Error("audit alert webhook: bad URL")
		return
	}
	for k, vs := range s.hook.Headers {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		// url.Error's text holds the URL, which may hold a credential.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		s.logger.Error("audit alert webhook failed", "error", err)
		return
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		s.logger.Error("audit alert webhook refused the alert", "status", resp.StatusCode)
	}
}

// stop lets the queued alerts go out for at most one timeout, then gives up
// on the rest, and waits for the goroutine to end.
func (s *sender) stop() {
	close(s.queue)
	t := time.AfterFunc(s.timeout, s.cancel)
	<-s.done
	t.Stop()
	s.cancel()
}
