// Package protocol is the neutral ground of the harness and the simulator:
// what a WeChat call to a device looks like on the wire. It holds the push
// message and the plugin's call-page path (building and parsing them),
// callWMPF's parameters and the plugin's checks of them, the error codes of
// the WeChat backend, the plugin and the push API with their error types,
// and the JSON types of the WeChat side's API (rooms, pushes, devices,
// ground-truth stamps). harness/caller and simulator/wechat both speak
// these types: a JSON shape of the WeChat side's API is declared here and
// nowhere else.
package protocol
