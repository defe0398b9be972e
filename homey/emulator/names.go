package emulator

import "fmt"

// SetHomeyName renames Homey homeyID, as its owner may in the Homey app: /user/me says the new
// name from now on. A name may hold anything a user can type, control and bidi characters
// included: clients must not show them raw.
func (s *Server) SetHomeyName(homeyID, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.findHomeyLocked(homeyID)
	if h == nil {
		return fmt.Errorf("no Homey %q", homeyID)
	}
	h.name = name
	return nil
}

// RenameDevice renames the device called old on Homey homeyID (see DeviceNames): the devices
// list says the new name from now on.
func (s *Server) RenameDevice(homeyID, old, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.findHomeyLocked(homeyID)
	if h == nil {
		return fmt.Errorf("no Homey %q", homeyID)
	}
	for _, d := range h.devices {
		if d.Name == old {
			d.Name = name
			return nil
		}
	}
	return fmt.Errorf("no device %q on Homey %q", old, homeyID)
}
