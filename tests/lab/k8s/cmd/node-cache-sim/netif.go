package main

import (
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ensureInterface makes sure the interface name exists, is up and holds
// every local IP as a /32.  node-cache makes a dummy interface; a kernel
// built without the dummy driver (and without modules to load it) answers
// "operation not supported", and the stand-in then makes an ifb interface,
// another device that only holds addresses, and says so.  It returns what it
// did, for the log.
func ensureInterface(name string, ips []string) ([]string, error) {
	var did []string
	link, err := netlink.LinkByName(name)
	if err != nil {
		var notFound netlink.LinkNotFoundError
		if !errors.As(err, &notFound) {
			return did, fmt.Errorf("looking up interface %s: %w", name, err)
		}
		attrs := netlink.NewLinkAttrs()
		attrs.Name = name
		err = netlink.LinkAdd(&netlink.Dummy{LinkAttrs: attrs})
		kind := "dummy"
		if errors.Is(err, unix.EOPNOTSUPP) {
			did = append(did, "this kernel has no dummy interfaces ("+err.Error()+"): using an ifb interface")
			err = netlink.LinkAdd(&netlink.Ifb{LinkAttrs: attrs})
			kind = "ifb"
		}
		if err != nil {
			return did, fmt.Errorf("creating %s interface %s: %w", kind, name, err)
		}
		did = append(did, fmt.Sprintf("created %s interface %s", kind, name))
		if link, err = netlink.LinkByName(name); err != nil {
			return did, err
		}
	}
	if link.Attrs().Flags&net.FlagUp == 0 {
		if err := netlink.LinkSetUp(link); err != nil {
			return did, fmt.Errorf("setting %s up: %w", name, err)
		}
	}
	for _, ip := range ips {
		addr, err := netlink.ParseAddr(ip + "/32")
		if err != nil {
			return did, err
		}
		err = netlink.AddrAdd(link, addr)
		switch {
		case err == nil:
			did = append(did, fmt.Sprintf("added %s/32 to %s", ip, name))
		case errors.Is(err, unix.EEXIST):
		default:
			return did, fmt.Errorf("adding %s/32 to %s: %w", ip, name, err)
		}
	}
	return did, nil
}

// removeInterface deletes the interface (and with it its addresses); an absent one is fine.
func removeInterface(name string) error {
	link, err := netlink.LinkByName(name)
	if err != nil {
		var notFound netlink.LinkNotFoundError
		if errors.As(err, &notFound) {
			return nil
		}
		return err
	}
	return netlink.LinkDel(link)
}
