import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withoutSecrets } from './driver-secrets.js';

test('credentials of every cloud driver are redacted; ids, names and empty values are kept', () => {
  const got = withoutSecrets({
    AccessToken: 'dop_v1_abc',
    AccessKey: 'AKIAEXAMPLE',
    SecretKey: 'wJalrXUtnFEMI',
    SessionToken: 'FwoGZ',
    ClientSecret: 'azure-secret',
    Password: 'vsphere',
    SSHKeyPassphrase: 'pp',
    APISecretKey: '',
    MachineName: 'm1',
    SSHPort: 22,
  });
  assert.deepEqual(got, {
    AccessToken: '<REDACTED>',
    AccessKey: 'AKIAEXAMPLE',
    SecretKey: '<REDACTED>',
    SessionToken: '<REDACTED>',
    ClientSecret: '<REDACTED>',
    Password: '<REDACTED>',
    SSHKeyPassphrase: '<REDACTED>',
    APISecretKey: '',
    MachineName: 'm1',
    SSHPort: 22,
  });
});

test("API keys and nested credentials (softlayer's deviceConfig) are redacted; key paths are kept", () => {
  const got = withoutSecrets({
    APIKey: 'rackspace-key',
    SSHKeyPath: '/store/machines/m1/id_rsa',
    deviceConfig: { User: 'someone', ApiKey: 'sl-key', Region: 'dal01', Cpu: 1 },
    Tags: ['a', 'b'],
    Client: null,
  });
  assert.deepEqual(got, {
    APIKey: '<REDACTED>',
    SSHKeyPath: '/store/machines/m1/id_rsa',
    deviceConfig: { User: 'someone', ApiKey: '<REDACTED>', Region: 'dal01', Cpu: 1 },
    Tags: ['a', 'b'],
    Client: null,
  });
});
