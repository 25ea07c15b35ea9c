package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/protocol"
)

// benchCall places a call over HTTP and returns the room id.
func benchCall(b *testing.B, client *http.Client, url string, body []byte) string {
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("callWMPF: HTTP %d %s %v", resp.StatusCode, data, err)
	}
	var r callReply
	if err := json.Unmarshal(data, &r); err != nil {
		b.Fatal(err)
	}
	return r.RoomID
}

func benchWaitPush(b *testing.B, ps *PushStream) DeviceMessage {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		m, err := ps.Next(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if m.Type == "push" {
			return m
		}
	}
}

// BenchmarkCallWMPFToStream: one op is callWMPF over HTTP, the push read
// from the device's stream, and the device's reject (which frees the device
// for the next call). call+push-ns/op is the first two alone.
func BenchmarkCallWMPFToStream(b *testing.B) {
	s := start(b, Config{})
	d := newDevice(b, s, "SN-BENCH", "m")
	body, _ := json.Marshal(callBody(d))
	url := s.URL() + "/sim/voip/callWMPF?access_token=" + s.AccessToken()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	ctx := context.Background()
	var callPush time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		room := benchCall(b, client, url, body)
		benchWaitPush(b, d.stream)
		callPush += time.Since(t0)
		if err := d.Reject(ctx, room); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(callPush.Nanoseconds())/float64(b.N), "call+push-ns/op")
}

// BenchmarkCallWMPFToStreamParallel: the same with GOMAXPROCS callers,
// each calling its own device.
func BenchmarkCallWMPFToStreamParallel(b *testing.B) {
	s := start(b, Config{})
	n := runtime.GOMAXPROCS(0)
	devs := make([]*testDevice, n)
	bodies := make([][]byte, n)
	for i := range devs {
		devs[i] = newDevice(b, s, fmt.Sprintf("SN-P%02d", i), "m")
		bodies[i], _ = json.Marshal(callBody(devs[i]))
	}
	url := s.URL() + "/sim/voip/callWMPF?access_token=" + s.AccessToken()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * n}}
	var next atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1)-1) % n
		d := devs[i]
		for pb.Next() {
			room := benchCall(b, client, url, bodies[i])
			benchWaitPush(b, d.stream)
			if err := d.Reject(context.Background(), room); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDecodeCallParams(b *testing.B) {
	body := []byte(`{"roomType":"video","sn":"SN-0001","modelId":"model-1","pushToken":"PT0123456789abcdef","nickName":"Alice & \"Bob\" 😀","envVersion":"trial","customQuery":"a=1&b=2"}`)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := protocol.DecodeCallParams(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuildPushMessage(b *testing.B) {
	p := protocol.CallParams{RoomType: "video", SN: "SN-0001", NickName: strings.Repeat("通", 200), CustomQuery: "a=1"}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := protocol.BuildPushMessage(p, "g0123456789abcdef01234567", DefaultAppID); err != nil {
			b.Fatal(err)
		}
	}
}
