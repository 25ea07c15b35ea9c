package framework

import (
	"os"
	"path/filepath"
	"strings"
)

// The WeChat side's state, as whoever watches it (wmpf-hil run) leaves it
// for every process in the run directory:
//
//	wechat.down   written when it stops answering, with why; removed when
//	              it answers again
const wechatDownMark = "wechat.down"

// WeChatDown returns why the run's WeChat side is down, or "" while it
// answers.
func WeChatDown(runDir string) string {
	b, err := os.ReadFile(filepath.Join(runDir, wechatDownMark))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// SetWeChatDown marks the run's WeChat side down with why ("" marks it up).
func SetWeChatDown(runDir, why string) error {
	p := filepath.Join(runDir, wechatDownMark)
	if why == "" {
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			return err
		}
		return nil
	}
	return os.WriteFile(p, []byte(why+"\n"), 0o644)
}
