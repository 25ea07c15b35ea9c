package simulator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/wmpf-hil/wmpf-hil/simulator/wechat"
)

// FarmConfig configures a farm: the WeChat side and devices that use it.
type FarmConfig struct {
	// WeChat configures the simulated WeChat side; WeChatAddr is where it
	// listens (default 127.0.0.1:0).
	WeChat     wechat.Config
	WeChatAddr string
	// NoWeChat runs the devices without a WeChat side (WMPF cannot
	// activate), unless a device names its own WeChatURL.
	NoWeChat bool
	Devices  []DeviceConfig
}

// Farm is a running WeChat side and its devices.
type Farm struct {
	WeChat  *wechat.Server // nil with NoWeChat
	Devices []*Device
}

// NewFarm starts the WeChat side, then every device pointed at it.
func NewFarm(ctx context.Context, cfg FarmConfig) (*Farm, error) {
	f := &Farm{}
	url := ""
	if !cfg.NoWeChat {
		addr := cfg.WeChatAddr
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		// The WeChat side lives until Close, not as long as ctx.
		w, err := wechat.Start(context.WithoutCancel(ctx), cfg.WeChat, addr)
		if err != nil {
			return nil, fmt.Errorf("simulator: WeChat side: %w", err)
		}
		f.WeChat = w
		url = w.URL()
	}
	for i, dc := range cfg.Devices {
		if dc.WeChatURL == "" {
			dc.WeChatURL = url
		}
		d, err := NewDevice(ctx, dc)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("simulator: device %d: %w", i, err)
		}
		f.Devices = append(f.Devices, d)
	}
	return f, nil
}

// Close stops every device, then the WeChat side.
func (f *Farm) Close() error {
	var errs []error
	for _, d := range f.Devices {
		errs = append(errs, d.Close())
	}
	if f.WeChat != nil {
		errs = append(errs, f.WeChat.Close())
	}
	return errors.Join(errs...)
}

// PortAddr is "127.0.0.1:PORT".
func PortAddr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// CheckPort refuses ports the adb server probes for emulators (5555-5585)
// and ports outside 1..65535.
func CheckPort(port int) error {
	if port < 1 || port > 65535 {
		return fmt.Errorf("port %d: allowed 1..65535", port)
	}
	if port >= 5555 && port <= 5585 {
		return fmt.Errorf("port %d: 5555-5585 are probed by the adb server for emulators; choose another", port)
	}
	return nil
}
