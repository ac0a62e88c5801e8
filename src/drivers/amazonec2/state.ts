import type { MachineState } from '../driver.js';
import { list, obj, text, type XmlValue } from './xml.js';

/** Instance state to machine state (spec §7.2, as the original): terminated and others are Error. */
export function machineState(name: string): MachineState {
  switch (name) {
    case 'pending':
      return 'Starting';
    case 'running':
      return 'Running';
    case 'stopping':
    case 'shutting-down':
      return 'Stopping';
    case 'stopped':
      return 'Stopped';
    default:
      return 'Error';
  }
}

/** What the driver reads of a DescribeInstances/RunInstances instance item. */
export interface Instance {
  id: string;
  state: string;
  privateIp: string;
  publicIp: string;
  spotRequestId: string;
  volumeIds: string[];
  stateReason: string;
}

export function instanceOf(v: XmlValue): Instance {
  const i = obj(v);
  return {
    id: text(i.instanceId),
    state: text(obj(i.instanceState).name),
    privateIp: text(i.privateIpAddress),
    publicIp: text(i.ipAddress),
    spotRequestId: text(i.spotInstanceRequestId),
    volumeIds: list(i.blockDeviceMapping)
      .map((b) => text(obj(obj(b).ebs).volumeId))
      .filter(Boolean),
    stateReason: text(obj(i.stateReason).message),
  };
}

/** Every instance of a DescribeInstances answer (reservationSet → instancesSet). */
export function instancesOf(answer: { [k: string]: XmlValue }): Instance[] {
  return list(answer.reservationSet).flatMap((r) => list(obj(r).instancesSet).map(instanceOf));
}
