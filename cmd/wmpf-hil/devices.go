package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/wmpf-hil/wmpf-hil/harness/adb"
	"github.com/wmpf-hil/wmpf-hil/harness/contract"
	"github.com/wmpf-hil/wmpf-hil/harness/device"
	"github.com/wmpf-hil/wmpf-hil/harness/farm"
	"github.com/wmpf-hil/wmpf-hil/internal/cli"
)

func runDevices(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("devices", stderr)
	devices := fs.String("devices", "", "farm file (default: $WMPF_HIL_DEVICES, then devices.yaml)")
	hold := fs.Bool("hold", false, "keep the farm up until interrupted (to use it with adb or wmpf-sim call)")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	cfg, err := farm.Load(farm.FileFromEnv(*devices))
	if err != nil {
		return cli.UsageError{Msg: err.Error()}
	}
	f, err := farm.Up(ctx, cfg, farm.Options{Logf: func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) }})
	if f != nil {
		defer f.Down()
	}
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DEVICE\tSTATUS\tMODEL\tSN\tPUSH\tSERVER\tDETAIL")
	for _, d := range f.Spec.Devices {
		fmt.Fprintf(tw, "%s\thealthy\t%s\t%s\t%s\t%s\t%s\n", d.Name, d.Model, d.SN, d.Push, d.Server, describeSim(d))
	}
	for _, x := range f.Spec.Excluded {
		d := x.Device
		fmt.Fprintf(tw, "%s\texcluded\t%s\t%s\t%s\t%s\t%s\n", d.Name, d.Model, d.SN, d.Push, d.Server, x.Reason)
	}
	tw.Flush()
	w := f.Spec.WeChat
	fmt.Fprintf(stdout, "WeChat side: %s %s\n", w.Mode, w.URL)
	if *hold {
		for name, addr := range f.Spec.ADBServers {
			fmt.Fprintf(stdout, "adb server %s: ADB_SERVER_SOCKET=tcp:%s\n", name, addr)
		}
		if w.Token != "" {
			fmt.Fprintf(stdout, "API url=%s token=%s\n", w.URL, w.Token)
		}
		fmt.Fprintln(stderr, "holding the farm up; interrupt to stop")
		<-ctx.Done()
	}
	return nil
}

func describeSim(d device.Spec) string {
	if !d.Simulated {
		return ""
	}
	parts := []string{"simulated", "profile " + d.Profile, fmt.Sprintf("clock %+v %+.0fppm", d.ClockOffset, d.ClockDriftPPM)}
	if len(d.Defects) > 0 {
		parts = append(parts, "defects "+strings.Join(d.Defects, ","))
	}
	return strings.Join(parts, ", ")
}

func runWatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("watch", stderr)
	serial := fs.String("serial", "", "the device's adb serial")
	server := fs.String("adb", "", "adb server socket, tcp:HOST:PORT (default: $ADB_SERVER_SOCKET, then tcp:127.0.0.1:5037)")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *serial == "" {
		return cli.UsageError{Msg: "-serial is required"}
	}
	addr, err := adb.ServerAddrFromEnv()
	if *server != "" {
		addr, err = adb.ParseServerSocket(*server)
	}
	if err != nil {
		return cli.UsageError{Msg: err.Error()}
	}
	s, err := device.Open(ctx, device.Spec{Name: *serial, Server: addr, Serial: *serial})
	if err != nil {
		return err
	}
	defer s.Close()
	m, _ := s.Clock.Model()
	fmt.Fprintf(stderr, "watching %s via %s; device clock %v\n", *serial, addr, m)
	mark := s.Log.Mark()
	for {
		ev, idx, err := s.Log.Await(ctx, mark, "a contract event", func(contract.Event) bool { return true })
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		mark = idx + 1
		host := s.ToHost(ev.Time)
		fmt.Fprintf(stdout, "%s  %-22s %s\n", host.Format("15:04:05.000000"), ev.Name, ev.Raw)
	}
}
