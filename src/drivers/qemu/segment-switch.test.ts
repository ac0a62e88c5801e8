import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BROADCAST, frame } from '../../../test/helpers/ethernet-frames.js';
import { LearningSwitch, parseMac } from './segment-switch.js';

describe('LearningSwitch', () => {
  const a = { address: '127.0.0.1', port: 1001 };
  const b = { address: '127.0.0.1', port: 1002 };
  const c = { address: '127.0.0.1', port: 1003 };
  const MA = '52:54:00:fb:00:02';
  const MB = '52:54:00:fb:00:03';
  const MC = '52:54:00:fb:00:04';
  const ports = (l: Array<{ port: number }>) => l.map((e) => e.port).sort();

  test('floods broadcast and unknown unicast to every member but the sender, unicast to a learned MAC', () => {
    const sw = new LearningSwitch();
    sw.setMembers([{ endpoint: a }, { endpoint: b }, { endpoint: c }]);
    assert.deepEqual(ports(sw.route(frame(BROADCAST, MA, 'x'), a, 0)), [1002, 1003]);
    assert.deepEqual(ports(sw.route(frame(MC, MB, 'x'), b, 0)), [1001, 1003], 'MC is not known yet');
    assert.deepEqual(ports(sw.route(frame(MA, MB, 'x'), b, 0)), [1001], 'MA was learned from its broadcast');
    assert.deepEqual(ports(sw.route(frame(MB, MA, 'x'), a, 0)), [1002]);
    assert.deepEqual(sw.route(frame(MA, MA, 'x'), a, 0), [], 'a frame for the sender itself goes nowhere');
  });

  test('uses the MACs the members folder names before they are learned', () => {
    const sw = new LearningSwitch();
    sw.setMembers([
      { endpoint: a, mac: parseMac(MA) },
      { endpoint: b, mac: parseMac(MB) },
    ]);
    assert.deepEqual(ports(sw.route(frame(MB, MA, 'x'), a, 0)), [1002]);
  });

  test('multicast destinations flood; frames with a multicast or zero source, or too short, are dropped', () => {
    const sw = new LearningSwitch();
    sw.setMembers([{ endpoint: a }, { endpoint: b }]);
    assert.deepEqual(ports(sw.route(frame('33:33:00:00:00:01', MA, 'x'), a, 0)), [1002]);
    assert.deepEqual(sw.route(frame(MB, '01:00:5e:00:00:01', 'x'), a, 0), []);
    assert.deepEqual(sw.route(frame(MB, '00:00:00:00:00:00', 'x'), a, 0), []);
    assert.deepEqual(sw.route(Buffer.alloc(13), a, 0), []);
  });

  test('learned MACs and endpoints age out; members whose VM is gone are forgotten at once', () => {
    const sw = new LearningSwitch({ ageMs: 1000 });
    sw.setMembers([{ endpoint: a }]);
    sw.route(frame(BROADCAST, MB, 'x'), b, 0);
    assert.deepEqual(ports(sw.route(frame(MB, MA, 'x'), a, 500)), [1002], 'b learned');
    sw.expire(2000);
    assert.deepEqual(sw.route(frame(MB, MA, 'x'), a, 2000), [], 'b forgotten: nothing left to flood to');
    sw.route(frame(BROADCAST, MC, 'x'), c, 3000);
    sw.setMembers([{ endpoint: a }], [c]);
    assert.deepEqual(sw.route(frame(BROADCAST, MA, 'x'), a, 3000), [], 'c is gone');
  });

  test('holds at most maxEndpoints learned endpoints and maxMacs MACs', () => {
    const sw = new LearningSwitch({ maxEndpoints: 4, maxMacs: 8 });
    for (let i = 1; i <= 50; i++) {
      const mac = `52:54:00:00:00:${i.toString(16).padStart(2, '0')}`;
      sw.route(frame(BROADCAST, mac, 'x'), { address: '127.0.0.1', port: 2000 + (i % 10) }, i);
    }
    const snap = sw.snapshot(50);
    assert.equal(snap.endpoints.length, 4);
    assert.ok(snap.macs.length <= 8);
    assert.deepEqual(snap.endpoints.sort(), [
      '127.0.0.1:2000',
      '127.0.0.1:2007',
      '127.0.0.1:2008',
      '127.0.0.1:2009',
    ]);
  });
});
