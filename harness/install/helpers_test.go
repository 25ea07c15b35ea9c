package install_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
)

func hexSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
