package wechat

// The device side's endpoints (/wmpf/…), as the simulated WMPF
// (DeviceClient) and the server (device.go) both speak them.

// activateReq is the body of POST /wmpf/activate.
type activateReq struct {
	SN      string `json:"sn"`
	ModelID string `json:"modelId"`
}

// activateReply is its answer.
type activateReply struct {
	Session   string `json:"session"`
	Activated bool   `json:"activated"`
}

// pushTokenReply is the answer of POST /wmpf/pushtoken.
type pushTokenReply struct {
	PushToken  string `json:"pushToken"`
	ExpireTime int64  `json:"expireTime"`
}

// deviceTokenReply is the answer of POST /wmpf/devicetoken.
type deviceTokenReply struct {
	DeviceToken string `json:"deviceToken"`
	ExpiresIn   int64  `json:"expiresIn"`
}

// ackReq is the body of POST /wmpf/ack.
type ackReq struct {
	SN      string `json:"sn"`
	Session string `json:"session"`
	ID      string `json:"id"`
}
