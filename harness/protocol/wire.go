package protocol

import "time"

// The WeChat side's wire types: what the simulated WeChat side serves on its
// /sim/ endpoints (docs/wechat-sim.md) and the harness's caller reads.

// Room states.
const (
	StateRinging  = "ringing"  // placed, the device has not answered
	StateAnswered = "answered" // the device answered, the caller has not joined
	StateOngoing  = "ongoing"  // both are in the room
	StateEnded    = "ended"
)

// End reasons of a room.
const (
	EndCancelled       = "cancelled"       // the caller cancelled while ringing (device: cancelVoip)
	EndRejected        = "rejected"        // the device rejected (rejectVoip)
	EndTimeout         = "timeout"         // nobody answered within RingTimeout (device: timeout)
	EndAbortByCaller   = "abortByCaller"   // the caller did not join within JoinWait, or hung up before joining (device: abortVoip)
	EndAbortByListener = "abortByListener" // the device hung up before the caller joined
	EndByCaller        = "endByCaller"     // the caller hung up a call in progress (device: hangUpVoip)
	EndByListener      = "endByListener"   // the device hung up a call in progress
	EndTimeLimit       = "timeLimit"       // the call reached callWMPF's timeLimit (device: hangUpVoip)
)

// RoomEvent is one event of a room, named as the plugin's onVoipEvent names
// it (startVoip, hangOnVoip, rejectVoip, cancelVoip, abortVoip, timeout,
// joinedRoomByCaller, joinFailCaller, hangUpVoip, endVoip, finishVoip).
type RoomEvent struct {
	Name string         `json:"name"`
	At   time.Time      `json:"at"`
	Data map[string]any `json:"data"`
}

// Room is a call as the WeChat side keeps it: GET /sim/voip/rooms/{roomId}.
type Room struct {
	RoomID        string      `json:"roomId"`
	GroupID       string      `json:"groupId"`
	SN            string      `json:"sn"`
	ModelID       string      `json:"modelId"`
	RoomType      string      `json:"roomType"`
	NickName      string      `json:"nickName"`
	EnvVersion    string      `json:"envVersion"`
	CustomQuery   string      `json:"customQuery,omitempty"`
	TimeLimit     int         `json:"timeLimit,omitempty"`
	CallerJoin    string      `json:"callerJoin"`
	State         string      `json:"state"`
	EndReason     string      `json:"endReason,omitempty"`
	PushID        string      `json:"pushId"`
	CreatedAt     time.Time   `json:"createdAt"`
	AnsweredAt    time.Time   `json:"answeredAt,omitzero"`
	OngoingAt     time.Time   `json:"ongoingAt,omitzero"`
	EndedAt       time.Time   `json:"endedAt,omitzero"`
	CancelAckedAt time.Time   `json:"cancelAckedAt,omitzero"`
	Events        []RoomEvent `json:"events"`
}

// EventNames lists the names of the room's events in order.
func (r Room) EventNames() []string {
	out := make([]string, len(r.Events))
	for i, e := range r.Events {
		out[i] = e.Name
	}
	return out
}

// Licences a device may have on the simulated WeChat side.
const (
	LicenceActive  = "active"
	LicenceExpired = "expired"
	LicenceNone    = "none"
)

// AccessToken is the reply of GET /cgi-bin/token.
type AccessToken struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

// CallResult is what callWMPF returns for a placed call.
type CallResult struct {
	RoomID    string `json:"roomId"`
	GroupID   string `json:"groupId"`
	IsSuccess bool   `json:"isSuccess"`
}

// Push statuses.
const (
	PushQueued    = "queued"    // waiting for the device's push stream
	PushDelivered = "delivered" // written and flushed to the device's push stream
	PushAcked     = "acked"     // the device acknowledged it (/wmpf/ack)
	PushExpired   = "expired"   // dropped: the device was or went offline before delivery
)

// Push kinds.
const (
	PushKindCall = "call" // built by callWMPF
	PushKindAPI  = "api"  // sent through /wxa/business/runtime/pushappmsg
)

// Push is one push message to a device, as /sim/pushes lists it.
type Push struct {
	ID          string    `json:"id"`
	SN          string    `json:"sn"`
	Kind        string    `json:"kind"`
	RoomID      string    `json:"roomId,omitempty"`
	GroupID     string    `json:"groupId,omitempty"`
	Msg         string    `json:"msg"`
	QueuedAt    time.Time `json:"queuedAt"`
	DeliveredAt time.Time `json:"deliveredAt,omitzero"`
	AckedAt     time.Time `json:"ackedAt,omitzero"`
	ExpiredAt   time.Time `json:"expiredAt,omitzero"`
	Status      string    `json:"status"`
}

// DeviceStatus is one device, as /sim/devices lists it.
type DeviceStatus struct {
	SN        string `json:"sn"`
	ModelID   string `json:"modelId"`
	Licence   string `json:"licence"`
	Activated bool   `json:"activated"`
	// Online: connected, or activated / disconnected less than
	// Config.OfflineGrace ago.
	Online          bool      `json:"online"`
	Connected       bool      `json:"connected"`
	LastSeen        time.Time `json:"lastSeen,omitzero"`
	PushTokenExpiry time.Time `json:"pushTokenExpiry,omitzero"`
	// PushToken is the newest token issued to the device: what the device
	// maker's server would keep for sn. The admin API shows it so that a
	// caller (wmpf-sim call, curl) can find it.
	PushToken  string `json:"pushToken,omitempty"`
	ActiveRoom string `json:"activeRoom,omitempty"`
	Queued     int    `json:"queued"`
}

// TruthStamp is one ground-truth stamp: when a stage of a call really
// happened on a simulated device, in host time.
type TruthStamp struct {
	SN         string    `json:"sn"`
	Stage      string    `json:"stage"`
	RoomID     string    `json:"roomId,omitempty"`
	GroupID    string    `json:"groupId,omitempty"`
	At         time.Time `json:"at"`
	ReceivedAt time.Time `json:"receivedAt"`
}
