package farm

import (
	"context"
	"testing"
	"time"
)

func TestDefaultFarmComesUpHealthy(t *testing.T) {
	cfg, err := Load("../../devices.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	f, err := Up(ctx, cfg, Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Down()
	if len(f.Spec.Devices) != 4 || len(f.Spec.Excluded) != 0 {
		t.Fatalf("devices %d, excluded %+v", len(f.Spec.Devices), f.Spec.Excluded)
	}
}
