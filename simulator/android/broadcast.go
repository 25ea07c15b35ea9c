package android

// Broadcasts: receivers in manifests and registered at run time.

type dynReceiver struct {
	id     int
	action string
	fn     func(Intent)
	proc   *Process
}

// RegisterReceiver registers a dynamic receiver for action; fn runs on the
// process main thread. It is removed when the process dies.
func (p *Process) RegisterReceiver(action string, fn func(Intent)) (unregister func()) {
	s := p.sys
	s.mu.Lock()
	defer s.mu.Unlock()
	if !p.Alive() || fn == nil {
		return func() {}
	}
	s.nextReceiver++
	r := &dynReceiver{id: s.nextReceiver, action: action, fn: fn, proc: p}
	s.receivers[p.Pid] = append(s.receivers[p.Pid], r)
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		rs := s.receivers[p.Pid]
		for i, x := range rs {
			if x == r {
				s.receivers[p.Pid] = append(rs[:i:i], rs[i+1:]...)
				return
			}
		}
	}
}

// SendBroadcast delivers in to matching manifest receivers (by explicit
// component, or by action and optional package; the receiver's process is
// started if needed; packages force-stopped since their last launch are
// skipped unless FlagIncludeStoppedPackages) and to dynamic receivers
// registered for the action. It returns how many receivers got it.
func (s *System) SendBroadcast(in Intent) int {
	return s.broadcast(in, false)
}

func (s *System) broadcast(in Intent, shellCaller bool) int {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return 0
	}
	n := 0
	if in.Flags&FlagReceiverRegisteredOnly == 0 {
		for _, name := range s.packageNamesLocked() {
			pk := s.packages[name]
			if in.Package != "" && in.Package != name {
				continue
			}
			if !in.Component.IsZero() && in.Component.Package != name {
				continue
			}
			if pk.stopped && in.Flags&FlagIncludeStoppedPackages == 0 {
				continue
			}
			for _, rc := range pk.pkg.Receivers {
				if !in.Component.IsZero() {
					if in.Component.Class != rc.Class {
						continue
					}
				} else if !containsStr(rc.Actions, in.Action) {
					continue
				}
				if shellCaller && !rc.Exported && !s.cfg.Rooted {
					continue
				}
				p := s.processByNameLocked(rc.Process)
				if p == nil {
					var err error
					p, err = s.startAppProcessLocked(pk, rc.Process, "broadcast", ComponentName{name, rc.Class}.ShortString())
					if err != nil {
						continue
					}
				}
				n++
				if app := pk.pkg.App; app != nil {
					cin := in.Clone()
					cin.Component = ComponentName{name, rc.Class}
					p.Post(func() { app.OnReceive(p, cin) })
				}
			}
		}
	}
	if in.Component.IsZero() {
		for _, pid := range sortedKeys(s.receivers) {
			for _, r := range s.receivers[pid] {
				if r.action != in.Action || (in.Package != "" && r.proc.Package != in.Package) {
					continue
				}
				n++
				fn, cin := r.fn, in.Clone()
				if !r.proc.Post(func() { fn(cin) }) {
					go fn(cin)
				}
			}
		}
	}
	s.mu.Unlock()
	return n
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
