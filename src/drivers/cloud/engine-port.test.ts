import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ingressPorts } from '../amazonec2/index.js';
import { dockerRulePort } from '../azure/index.js';
import { securityRules } from '../azure/state.js';
import { defaultRules, opensEnginePort } from '../exoscale/index.js';
import { googleDriver } from '../google/index.js';
import { openstackDriver } from '../openstack/index.js';
import { natForwards } from '../virtualbox/index.js';

// An SSH-only engine (--engine-endpoint ssh) leaves 2376 closed in the firewalls the drivers
// make; what else they open (SSH, the Swarm manager's ports, --*-open-port) stays as it was.
type Port = { port: number; proto: string; from: 'anywhere' | 'group' };
type Allowed = { IPProtocol: string; ports?: string[] };

const ec2Ports = (json: Record<string, unknown>): Port[] => ingressPorts(json);
const gceAllowed = (json: Record<string, unknown>): Allowed[] =>
  (googleDriver.fromJSON(json) as unknown as { allowed(): Allowed[] }).allowed();

test('amazonec2: the engine port only for a tcp engine', () => {
  assert.deepEqual(ec2Ports({ SSHPort: 22 }), [
    { port: 22, proto: 'tcp', from: 'anywhere' },
    { port: 2376, proto: 'tcp', from: 'anywhere' },
  ]);
  assert.deepEqual(ec2Ports({ SSHPort: 22, EngineEndpoint: 'ssh' }), [
    { port: 22, proto: 'tcp', from: 'anywhere' },
  ]);
  assert.deepEqual(ec2Ports({ SSHPort: 22, EngineEndpoint: 'ssh', SwarmMaster: true }), [
    { port: 22, proto: 'tcp', from: 'anywhere' },
    { port: 3376, proto: 'tcp', from: 'anywhere' },
    { port: 2377, proto: 'tcp', from: 'anywhere' },
    { port: 7946, proto: 'tcp', from: 'group' },
    { port: 7946, proto: 'udp', from: 'group' },
    { port: 4789, proto: 'udp', from: 'group' },
  ]);
});

test('google: no 2376 for an SSH-only engine, and never a protocol with no ports (it would open all)', () => {
  assert.deepEqual(gceAllowed({}), [{ IPProtocol: 'tcp', ports: ['2376'] }]);
  assert.deepEqual(gceAllowed({ EngineEndpoint: 'ssh' }), []);
  assert.deepEqual(gceAllowed({ EngineEndpoint: 'ssh', OpenPorts: ['8080/udp'] }), [
    { IPProtocol: 'udp', ports: ['8080'] },
  ]);
});

test('azure: the network security group has DockerAllowAny only for a tcp engine', () => {
  const rules = (json: Record<string, unknown>, swarmPort?: number) =>
    securityRules({ sshPort: 22, dockerPort: dockerRulePort(json), swarmPort, open: [] }).map(
      (r) => `${r.name} ${r.properties.destinationPortRange}`,
    );
  assert.deepEqual(rules({}), ['SSHAllowAny 22', 'DockerAllowAny 2376']);
  assert.deepEqual(rules({ DockerPort: 2380 }), ['SSHAllowAny 22', 'DockerAllowAny 2380']);
  assert.deepEqual(rules({ EngineEndpoint: 'ssh' }), ['SSHAllowAny 22']);
  assert.deepEqual(rules({ EngineEndpoint: 'ssh', DockerPort: 2376 }, 3376), [
    'SSHAllowAny 22',
    'DockerSwarmAllowAny 3376',
    'SwarmManagerAllowAny 2377',
  ]);
});

test("exoscale: the group made for an SSH-only engine opens 2377 but not 2376; a tcp machine's group opens both", () => {
  const ports = (rules: Record<string, unknown>[]) =>
    rules
      .filter((r) => r.network === '0.0.0.0/0' && r.protocol === 'tcp')
      .map((r) => `${r['start-port']}-${r['end-port']}`);
  assert.deepEqual(ports(defaultRules('g')), ['22-22', '2376-2377', '3376-3377']);
  assert.deepEqual(ports(defaultRules('g', true)), ['22-22', '2377-2377', '3376-3377']);
  assert.equal(opensEnginePort(defaultRules('g')), true);
  assert.equal(opensEnginePort(defaultRules('g', true)), false);
  // The swarm node ports stay open to the group's members either way.
  assert.equal(defaultRules('g', true).filter((r) => r['security-group']).length, 3);
  // A group's rule from the group only, or egress, does not count as the engine's port open.
  assert.equal(
    opensEnginePort([
      {
        'flow-direction': 'egress',
        protocol: 'tcp',
        network: '0.0.0.0/0',
        'start-port': 1,
        'end-port': 65535,
      },
    ]),
    false,
  );
});

test("openstack: the machine's own security group has the engine's port only for a tcp engine", () => {
  type Rule = { protocol: string; port: number; from?: string };
  const rules = (json: Record<string, unknown>, cidrs: string[] = []) =>
    (openstackDriver.fromJSON(json) as unknown as { rules(c: string[]): Rule[] })
      .rules(cidrs)
      .map((r) => `${r.port}/${r.protocol}${r.from ? ` from ${r.from}` : ''}`);
  assert.deepEqual(rules({ SSHPort: 22 }), ['22/tcp', '2376/tcp']);
  assert.deepEqual(rules({ SSHPort: 22, EnginePort: 2380 }), ['22/tcp', '2380/tcp']);
  assert.deepEqual(rules({ SSHPort: 22, EngineEndpoint: 'ssh' }), ['22/tcp']);
  assert.deepEqual(
    rules({ SSHPort: 22, EngineEndpoint: 'ssh', SwarmMaster: true, SwarmHost: 'tcp://0.0.0.0:3376' }, [
      '10.0.0.0/24',
    ]),
    [
      '22/tcp',
      '2377/tcp',
      '3376/tcp',
      '7946/tcp from 10.0.0.0/24',
      '7946/udp from 10.0.0.0/24',
      '4789/udp from 10.0.0.0/24',
    ],
  );
});

test('virtualbox: the NAT forward of 2376 only for a tcp engine', () => {
  assert.deepEqual(natForwards({ SSHPort: 40022, EnginePort: 40023 }, false), [
    'ssh,tcp,127.0.0.1,40022,,22',
    'docker,tcp,127.0.0.1,40023,,2376',
  ]);
  assert.deepEqual(natForwards({ SSHPort: 40022, EnginePort: 0, EngineEndpoint: 'ssh' }, false), [
    'ssh,tcp,127.0.0.1,40022,,22',
  ]);
  // The original's machines reach the engine on the host-only address: SSH is forwarded only.
  assert.deepEqual(natForwards({ SSHPort: 40022 }, true), ['ssh,tcp,127.0.0.1,40022,,22']);
});
