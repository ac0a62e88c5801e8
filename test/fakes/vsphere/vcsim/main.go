// A vCenter for tests: govmomi's simulator library (Debian's golang-github-vmware-govmomi-dev)
// serving one small inventory over TLS on a loopback port, plus what a test needs that the
// simulator does not do by itself: a guest that reports an address chosen by the test (a real
// test host's) through VMware Tools' properties when its VM powers on, and a record of power
// events, so a test can start or stop that test host as the VM is powered on or off.
//
// Protocol with the test (test/helpers/vcsim.ts): the first line on stdout is one JSON object
// describing the server; every later line is one JSON event. A small HTTP server on another
// loopback port takes the test's controls. The process ends when stdin closes or on SIGTERM.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	_ "github.com/vmware/govmomi/vapi/simulator" // the REST endpoints (content library, tags) with RegisterEndpoints
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

func main() {
	shape := flag.String("shape", "host", "inventory: host (one standalone host) or cluster (a cluster of two hosts with a child pool and a datastore cluster)")
	templates := flag.String("templates", "", "comma-separated names of template VMs to create (one disk, one NIC on VM Network)")
	vmFolder := flag.String("vm-folder", "", "a folder to create under the datacenter's vm folder")
	ipPool := flag.String("ip-pool", "", "comma-separated addresses given, in order, to VMs that power on with no address set for them")
	flag.Parse()

	// The password comes from the environment: arguments are visible to every user in ps.
	user := os.Getenv("VCSIM_USERNAME")
	pass := os.Getenv("VCSIM_PASSWORD")
	if user == "" || pass == "" {
		fail("VCSIM_USERNAME and VCSIM_PASSWORD must be set: the simulator otherwise accepts any login")
	}

	model := simulator.VPX()
	model.Autostart = false
	model.Machine = 0
	model.Datacenter = 1
	model.Portgroup = 1
	switch *shape {
	case "host":
		// One standalone host and no cluster: DefaultResourcePool then has one answer, which is
		// the original's path when no pool is given.
		model.Host = 1
		model.Cluster = 0
		model.Datastore = 1
	case "cluster":
		model.Host = 0
		model.Cluster = 1
		model.ClusterHost = 2
		model.Pool = 1
		model.Datastore = 2
		model.Pod = 1
	default:
		fail(fmt.Sprintf("-shape %q: use host or cluster", *shape))
	}
	if err := model.Create(); err != nil {
		fail("creating the inventory: " + err.Error())
	}
	defer model.Remove()

	cert, caPem, thumbprint := selfSigned()
	model.Service.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	model.Service.Listen = &url.URL{Host: "127.0.0.1:0", User: url.UserPassword(user, pass)}
	model.Service.RegisterEndpoints = true
	server := model.Service.NewServer()
	defer server.Close()

	sdk := *server.URL
	sdk.User = nil

	inv, err := arrange(&sdk, user, pass, *shape, split(*templates), *vmFolder)
	if err != nil {
		fail("arranging the inventory: " + err.Error())
	}

	out := &emitter{enc: json.NewEncoder(os.Stdout)}
	h := &guestHook{
		self:     types.ManagedObjectReference{Type: "DmTestGuestHook", Value: "hook-1"},
		out:      out,
		assigned: map[string][]string{},
		leased:   map[string]string{},
		pool:     split(*ipPool),
		names:    map[types.ManagedObjectReference]string{},
	}
	for _, e := range simulator.Map.All("VirtualMachine") {
		vm := e.(*simulator.VirtualMachine)
		h.names[vm.Self] = vm.Name
	}
	simulator.Map.AddHandler(h)

	control, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail("control listener: " + err.Error())
	}
	go func() { _ = http.Serve(control, h.mux()) }()

	out.emit(map[string]interface{}{
		"url":        sdk.String(),
		"control":    "http://" + control.Addr().String(),
		"thumbprint": thumbprint,
		"caPem":      caPem,
		"shape":      *shape,
		"inventory":  inv,
		"pid":        os.Getpid(),
	})

	done := make(chan struct{}, 2)
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		done <- struct{}{}
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		done <- struct{}{}
	}()
	<-done
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "vcsim: "+msg)
	os.Exit(2)
}

func split(list string) []string {
	var items []string
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s != "" {
			items = append(items, s)
		}
	}
	return items
}

// selfSigned makes a certificate for 127.0.0.1 that lives only as long as this process, and
// gives its PEM and its SHA-1 thumbprint in the colon form vSphere clients show.
func selfSigned() (tls.Certificate, string, string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		fail(err.Error())
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "vcsim test vCenter"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		fail(err.Error())
	}
	sum := sha1.Sum(der)
	hexes := make([]string, len(sum))
	for i, b := range sum {
		hexes[i] = fmt.Sprintf("%02X", b)
	}
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pemText, strings.Join(hexes, ":")
}

// inventory names what the test can ask for by name.
type inventory struct {
	Datacenter       string   `json:"datacenter"`
	Hosts            []string `json:"hosts"`
	Cluster          string   `json:"cluster,omitempty"`
	Pool             string   `json:"pool,omitempty"`
	Datastores       []string `json:"datastores"`
	DatastoreCluster string   `json:"datastoreCluster,omitempty"`
	Networks         []string `json:"networks"`
	Templates        []string `json:"templates"`
	// Each datastore's folder on this machine, where its files are.
	DatastoreDirs map[string]string `json:"datastoreDirs"`
	VMFolder      string            `json:"vmFolder,omitempty"`
}

// arrange finishes the inventory through the simulator's own API (as a client would) and
// reports its names: the cluster shape's datastores go into the datastore cluster, templates
// and the extra folder are made.
func arrange(u *url.URL, user, pass, shape string, templates []string, vmFolder string) (*inventory, error) {
	ctx := context.Background()
	login := *u
	login.User = url.UserPassword(user, pass)
	c, err := govmomi.NewClient(ctx, &login, true)
	if err != nil {
		return nil, err
	}
	defer func() { _ = c.Logout(ctx) }()
	finder := find.NewFinder(c.Client, false)
	dc, err := finder.DefaultDatacenter(ctx)
	if err != nil {
		return nil, err
	}
	finder.SetDatacenter(dc)
	folders, err := dc.Folders(ctx)
	if err != nil {
		return nil, err
	}
	inv := &inventory{Datacenter: dc.Name(), Templates: []string{}, DatastoreDirs: map[string]string{}}
	for _, e := range simulator.Map.All("Datastore") {
		ds := e.(*simulator.Datastore)
		inv.DatastoreDirs[ds.Name] = ds.Info.GetDatastoreInfo().Url
	}

	hosts, err := finder.HostSystemList(ctx, "*")
	if err != nil {
		return nil, err
	}
	for _, h := range hosts {
		inv.Hosts = append(inv.Hosts, h.Name())
	}
	dss, err := finder.DatastoreList(ctx, "*")
	if err != nil {
		return nil, err
	}
	var dsRefs []types.ManagedObjectReference
	for _, d := range dss {
		inv.Datastores = append(inv.Datastores, d.Name())
		dsRefs = append(dsRefs, d.Reference())
	}
	nets, err := finder.NetworkList(ctx, "*")
	if err != nil {
		return nil, err
	}
	for _, n := range nets {
		if t := n.Reference().Type; t != "Network" && t != "DistributedVirtualPortgroup" && t != "OpaqueNetwork" {
			continue
		}
		inv.Networks = append(inv.Networks, n.GetInventoryPath()[strings.LastIndex(n.GetInventoryPath(), "/")+1:])
	}

	if shape == "cluster" {
		cluster, err := finder.DefaultClusterComputeResource(ctx)
		if err != nil {
			return nil, err
		}
		inv.Cluster = cluster.Name()
		pools, err := finder.ResourcePoolList(ctx, cluster.InventoryPath+"/Resources/*")
		if err != nil {
			return nil, err
		}
		inv.Pool = strings.TrimPrefix(pools[0].InventoryPath, cluster.InventoryPath+"/")
		// The model makes the datastore cluster empty; its datastores are moved into it here.
		pods := simulator.Map.All("StoragePod")
		if len(pods) != 1 {
			return nil, fmt.Errorf("expected one datastore cluster, found %d", len(pods))
		}
		pod := object.NewFolder(c.Client, pods[0].Reference())
		task, err := pod.MoveInto(ctx, dsRefs)
		if err != nil {
			return nil, err
		}
		if err := task.Wait(ctx); err != nil {
			return nil, err
		}
		inv.DatastoreCluster = pods[0].Entity().Name
	}

	pool, err := finder.DefaultResourcePool(ctx)
	if err != nil {
		return nil, err
	}
	for _, name := range templates {
		if err := makeTemplate(ctx, c, folders.VmFolder, pool, dss[0].Name(), name); err != nil {
			return nil, err
		}
		inv.Templates = append(inv.Templates, name)
	}
	if vmFolder != "" {
		if _, err := folders.VmFolder.CreateFolder(ctx, vmFolder); err != nil {
			return nil, err
		}
		inv.VMFolder = vmFolder
	}
	return inv, nil
}

func makeTemplate(ctx context.Context, c *govmomi.Client, folder *object.Folder, pool *object.ResourcePool, ds, name string) error {
	var devices object.VirtualDeviceList
	scsi, err := devices.CreateSCSIController("pvscsi")
	if err != nil {
		return err
	}
	devices = append(devices, scsi)
	disk := devices.CreateDisk(scsi.(types.BaseVirtualController), types.ManagedObjectReference{}, fmt.Sprintf("[%s] %s/%s.vmdk", ds, name, name))
	disk.CapacityInKB = 1024 * 1024
	devices = append(devices, disk)
	nic, err := devices.CreateEthernetCard("vmxnet3", &types.VirtualEthernetCardNetworkBackingInfo{
		VirtualDeviceDeviceBackingInfo: types.VirtualDeviceDeviceBackingInfo{DeviceName: "VM Network"},
	})
	if err != nil {
		return err
	}
	devices = append(devices, nic)
	changes, err := devices.ConfigSpec(types.VirtualDeviceConfigSpecOperationAdd)
	if err != nil {
		return err
	}
	spec := types.VirtualMachineConfigSpec{
		Name:         name,
		GuestId:      string(types.VirtualMachineGuestOsIdentifierOtherLinux64Guest),
		NumCPUs:      1,
		MemoryMB:     1024,
		Files:        &types.VirtualMachineFileInfo{VmPathName: fmt.Sprintf("[%s]", ds)},
		DeviceChange: changes,
	}
	task, err := folder.CreateVM(ctx, spec, pool, nil)
	if err != nil {
		return err
	}
	info, err := task.WaitForResult(ctx, nil)
	if err != nil {
		return err
	}
	vm := object.NewVirtualMachine(c.Client, info.Result.(types.ManagedObjectReference))
	return vm.MarkAsTemplate(ctx)
}

type emitter struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (e *emitter) emit(v interface{}) {
	e.mu.Lock()
	defer e.mu.Unlock()
	_ = e.enc.Encode(v)
}

// guestHook is registered with the simulator's object registry, which calls it synchronously
// with every property change. When a VM's power state changes it plays the part of VMware Tools
// in the guest: on power-on the guest reports the address the test chose for that VM (in
// guest.net[].ipConfig, which WaitForNetIP-style clients wait for, guest.ipAddress and
// summary.guest.ipAddress) with tools running; on power-off it reports nothing again.
type guestHook struct {
	self types.ManagedObjectReference
	out  *emitter

	mu       sync.Mutex
	assigned map[string][]string // VM name → addresses, one per NIC in order
	pool     []string
	leased   map[string]string // VM name → the pool address it was given, kept across power cycles
	names    map[types.ManagedObjectReference]string
}

func (h *guestHook) Reference() types.ManagedObjectReference { return h.self }
func (h *guestHook) PutObject(mo.Reference)                  {}

func (h *guestHook) RemoveObject(ref types.ManagedObjectReference) {
	if ref.Type != "VirtualMachine" {
		return
	}
	h.mu.Lock()
	name, known := h.names[ref]
	delete(h.names, ref)
	h.mu.Unlock()
	if known {
		h.out.emit(map[string]interface{}{"event": "destroyed", "vm": name, "id": ref.Value})
	}
}

func (h *guestHook) UpdateObject(obj mo.Reference, changes []types.PropertyChange) {
	vm, ok := obj.(*mo.VirtualMachine)
	// Destroy_Task removes the VM's devices after it has left the registry: not a new VM.
	if !ok || simulator.Map.Get(vm.Self) == nil {
		return
	}
	for _, c := range changes {
		switch c.Name {
		case "config.hardware.device", "name":
			if vm.Name == "" {
				continue
			}
			h.mu.Lock()
			old, known := h.names[vm.Self]
			h.names[vm.Self] = vm.Name
			h.mu.Unlock()
			if !known {
				h.out.emit(map[string]interface{}{"event": "created", "vm": vm.Name, "id": vm.Self.Value})
			} else if old != vm.Name {
				h.out.emit(map[string]interface{}{"event": "renamed", "vm": vm.Name, "id": vm.Self.Value, "from": old})
			}
		case "runtime.powerState":
			state := fmt.Sprint(c.Val)
			var ips []string
			if state == string(types.VirtualMachinePowerStatePoweredOn) {
				ips = h.addressesFor(vm.Name)
				if len(ips) > 0 {
					reportGuest(vm, ips)
				}
			} else {
				reportGuest(vm, nil)
			}
			h.out.emit(map[string]interface{}{"event": state, "vm": vm.Name, "id": vm.Self.Value, "ips": nonNil(ips)})
		}
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// addressesFor is what the guest of a VM powering on reports: the test's choice for it, else
// a pool address (the same one on every power-on, as a DHCP reservation), else none.
func (h *guestHook) addressesFor(name string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ips, ok := h.assigned[name]; ok {
		return ips
	}
	if ip, ok := h.leased[name]; ok {
		return []string{ip}
	}
	if len(h.pool) == 0 {
		return nil
	}
	ip := h.pool[0]
	h.pool = h.pool[1:]
	h.leased[name] = ip
	return []string{ip}
}

// reportGuest sets what VMware Tools would report: each NIC's address (ips[i] for NIC i; NICs
// beyond the list report none), the primary address and tools running. nil: the guest is off.
func reportGuest(vm *mo.VirtualMachine, ips []string) {
	if vm.Guest == nil {
		return
	}
	primary := ""
	if len(ips) > 0 {
		primary = ips[0]
	}
	nics := make([]types.GuestNicInfo, len(vm.Guest.Net))
	copy(nics, vm.Guest.Net)
	for i := range nics {
		nics[i].IpAddress = nil
		nics[i].IpConfig = nil
		if i < len(ips) {
			nics[i].IpAddress = []string{ips[i]}
			nics[i].IpConfig = &types.NetIpConfigInfo{IpAddress: []types.NetIpConfigInfoIpAddress{{
				IpAddress:    ips[i],
				PrefixLength: 24,
				State:        string(types.NetIpConfigInfoIpAddressStatusPreferred),
			}}}
		}
	}
	running := string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)
	status := types.VirtualMachineToolsStatusToolsOk
	guestState := "running"
	if ips == nil {
		running = string(types.VirtualMachineToolsRunningStatusGuestToolsNotRunning)
		status = types.VirtualMachineToolsStatusToolsNotRunning
		guestState = "notRunning"
	}
	changes := []types.PropertyChange{
		{Name: "guest.net", Val: nics},
		{Name: "guest.ipAddress", Val: primary},
		{Name: "guest.toolsRunningStatus", Val: running},
		{Name: "guest.toolsStatus", Val: status},
		{Name: "guest.guestState", Val: guestState},
	}
	if vm.Summary.Guest != nil {
		changes = append(changes,
			types.PropertyChange{Name: "summary.guest.ipAddress", Val: primary},
			types.PropertyChange{Name: "summary.guest.toolsRunningStatus", Val: running},
			types.PropertyChange{Name: "summary.guest.toolsStatus", Val: status},
		)
	}
	simulator.Map.Update(vm, changes)
}

type vmState struct {
	Name       string   `json:"name"`
	ID         string   `json:"id"`
	PowerState string   `json:"powerState"`
	Template   bool     `json:"template"`
	IPs        []string `json:"ips"`
}

func (h *guestHook) mux() *http.ServeMux {
	mux := http.NewServeMux()
	// POST {"vm": NAME, "ips": [...]}: what NAME's guest reports from its next power-on, and at
	// once when it is on. An empty list takes the choice back.
	mux.HandleFunc("/ip", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			VM  string   `json:"vm"`
			IPs []string `json:"ips"`
		}
		if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&req) != nil || req.VM == "" {
			http.Error(w, `POST {"vm": NAME, "ips": [ADDRESS, ...]}`, http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		if len(req.IPs) == 0 {
			delete(h.assigned, req.VM)
		} else {
			h.assigned[req.VM] = req.IPs
		}
		h.mu.Unlock()
		applied := false
		for _, vm := range vmsNamed(req.VM) {
			simulator.Map.WithLock(vm, func() {
				if vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn && len(req.IPs) > 0 {
					reportGuest(&vm.VirtualMachine, req.IPs)
					applied = true
				}
			})
		}
		writeJSON(w, map[string]bool{"applied": applied})
	})
	// POST {"ips": [...]}: addresses for VMs that power on with none chosen for them.
	mux.HandleFunc("/ip-pool", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			IPs []string `json:"ips"`
		}
		if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&req) != nil {
			http.Error(w, `POST {"ips": [ADDRESS, ...]}`, http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.pool = req.IPs
		h.mu.Unlock()
		writeJSON(w, map[string]int{"pool": len(req.IPs)})
	})
	// GET: every VM as the simulator holds it, for tests to check what the driver left.
	mux.HandleFunc("/vms", func(w http.ResponseWriter, r *http.Request) {
		list := []vmState{}
		for _, e := range simulator.Map.All("VirtualMachine") {
			vm := e.(*simulator.VirtualMachine)
			simulator.Map.WithLock(vm, func() {
				s := vmState{Name: vm.Name, ID: vm.Self.Value, PowerState: string(vm.Runtime.PowerState), IPs: []string{}}
				if vm.Config != nil {
					s.Template = vm.Config.Template
				}
				if vm.Guest != nil && vm.Guest.IpAddress != "" {
					for _, n := range vm.Guest.Net {
						s.IPs = append(s.IPs, n.IpAddress...)
					}
				}
				list = append(list, s)
			})
		}
		writeJSON(w, list)
	})
	return mux
}

func vmsNamed(name string) []*simulator.VirtualMachine {
	var found []*simulator.VirtualMachine
	for _, e := range simulator.Map.All("VirtualMachine") {
		if vm := e.(*simulator.VirtualMachine); vm.Name == name {
			found = append(found, vm)
		}
	}
	return found
}

func writeJSON(w http.ResponseWriter, v interface{}) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
