package admin

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/sipcm/sipcm/engine"
)

// connJSON is the JSON form of engine.ConnInfo.
type connJSON struct {
	ID           uint64  `json:"id"`
	Direction    string  `json:"direction"`
	Transport    string  `json:"transport"`
	Local        string  `json:"local"`
	Remote       string  `json:"remote"`
	Age          float64 `json:"age_seconds"`
	Idle         float64 `json:"idle_seconds"`
	IdleTimeout  float64 `json:"idle_timeout_seconds"`
	MessagesIn   uint64  `json:"messages_in"`
	MessagesOut  uint64  `json:"messages_out"`
	BytesIn      uint64  `json:"bytes_in"`
	BytesOut     uint64  `json:"bytes_out"`
	PeerIdentity string  `json:"peer_identity,omitempty"`
}

// poolJSON and poolConnJSON are the JSON forms of Pool and PoolConn.
type poolJSON struct {
	Name  string         `json:"name"`
	Size  int            `json:"size"`
	Conns []poolConnJSON `json:"conns"`
}

type poolConnJSON struct {
	ID    uint64  `json:"id"`
	State string  `json:"state"`
	Age   float64 `json:"age_seconds"`
	Idle  float64 `json:"idle_seconds"`
}

func seconds(d time.Duration) float64 { return d.Seconds() }

func (s *Server) index(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("sipcm admin\n/healthz\n/connections\n/pools\n/metrics\n"))
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

func (s *Server) connections(w http.ResponseWriter, _ *http.Request) {
	var infos []engine.ConnInfo
	for _, e := range s.cfg.Engines {
		infos = e.Conns(infos)
	}
	out := make([]connJSON, 0, len(infos))
	for _, c := range infos {
		out = append(out, connJSON{
			ID:           c.ID,
			Direction:    c.Direction.String(),
			Transport:    c.Transport.String(),
			Local:        c.Local.String(),
			Remote:       c.Remote.String(),
			Age:          seconds(c.Age),
			Idle:         seconds(c.Idle),
			IdleTimeout:  seconds(c.IdleTimeout),
			MessagesIn:   c.MessagesIn,
			MessagesOut:  c.MessagesOut,
			BytesIn:      c.BytesIn,
			BytesOut:     c.BytesOut,
			PeerIdentity: c.PeerIdentity,
		})
	}
	writeJSON(w, out)
}

func (s *Server) pools(w http.ResponseWriter, _ *http.Request) {
	out := []poolJSON{}
	if s.cfg.Pools != nil {
		for _, p := range s.cfg.Pools.Pools() {
			pj := poolJSON{Name: p.Name, Size: p.Size, Conns: make([]poolConnJSON, 0, len(p.Conns))}
			for _, c := range p.Conns {
				pj.Conns = append(pj.Conns, poolConnJSON{ID: c.ID, State: c.State, Age: seconds(c.Age), Idle: seconds(c.Idle)})
			}
			out = append(out, pj)
		}
	}
	writeJSON(w, out)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
