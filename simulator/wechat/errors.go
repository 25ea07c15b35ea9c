package wechat

import "fmt"

// apiError is an error reply in WeChat's shape, used inside the server.
type apiError struct {
	status int
	code   int
	msg    string
}

func (e *apiError) Error() string { return fmt.Sprintf("errcode %d: %s", e.code, e.msg) }

func newAPIError(status, code int, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}
