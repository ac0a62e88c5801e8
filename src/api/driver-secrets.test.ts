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
