package caller

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/wmpf-hil/wmpf-hil/harness/protocol"
)

// room is a room of a stand-in WeChat side whose state moves on by a
// script: each read of the room takes the next state.
type room struct {
	mu      sync.Mutex
	states  []string
	reads   int
	actions []string
}

func (rm *room) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/sim/voip/rooms/r1":
		state := rm.states[min(rm.reads, len(rm.states)-1)]
		rm.reads++
		_ = json.NewEncoder(w).Encode(protocol.Room{RoomID: "r1", State: state})
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/sim/voip/rooms/r1/"):
		action := strings.TrimPrefix(r.URL.Path, "/sim/voip/rooms/r1/")
		rm.actions = append(rm.actions, action)
		// What the room is now: the state of the next read.
		now := rm.states[min(rm.reads, len(rm.states)-1)]
		valid := action == "cancel" && now == protocol.StateRinging ||
			action == "hangup" && (now == protocol.StateAnswered || now == protocol.StateOngoing)
		if !valid {
			w.WriteHeader(http.StatusConflict)
			_ = json.NewEncoder(w).Encode(map[string]any{"errcode": protocol.ErrcodeWrongState, "errmsg": "cannot " + action + " room r1: it is " + now})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"errcode": 0})
	default:
		http.NotFound(w, r)
	}
}

func TestEndRoomFollowsARoomThatMovesOn(t *testing.T) {
	for _, c := range []struct {
		name    string
		states  []string // the room's state at each read
		actions string
		err     string
	}{
		{"ringing", []string{protocol.StateRinging}, "cancel", ""},
		{"answered", []string{protocol.StateOngoing}, "hangup", ""},
		{"over", []string{"ended"}, "", ""},
		// Read ringing; answered before the cancel arrives: hang up.
		{"answered meanwhile", []string{protocol.StateRinging, protocol.StateOngoing}, "cancel hangup", ""},
		// Read ongoing; the device hung up before the caller: nothing left.
		{"ended meanwhile", []string{protocol.StateOngoing, "ended"}, "hangup", ""},
		// A room that keeps flipping: at most endRoomTries reads, then the refusal.
		{"never settles", []string{protocol.StateRinging, protocol.StateOngoing, protocol.StateRinging, protocol.StateOngoing},
			"cancel hangup cancel", "errcode 61002"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rm := &room{states: c.states}
			srv := httptest.NewServer(rm)
			defer srv.Close()
			err := NewWithToken(srv.URL, "token").EndRoom(context.Background(), "r1")
			if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
				t.Errorf("EndRoom: %v, want %q", err, c.err)
			}
			if got := strings.Join(rm.actions, " "); got != c.actions {
				t.Errorf("actions %q, want %q", got, c.actions)
			}
		})
	}
}
