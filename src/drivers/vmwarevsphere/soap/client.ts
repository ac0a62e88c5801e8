import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { errorMessage, MachineError } from '../../../errors.js';
import { CloudUnreachableError } from '../../cloud/errors.js';
import { el, envelope, type MoRef, ref, val } from './envelope.js';
import { methodFault, soapFault, VimFault } from './fault.js';
import { child, childrenNamed, childText, parseXML, type XNode, xsiType } from './xml.js';

/**
 * A vim25 SOAP client: POSTs to https://HOST:PORT/sdk with SOAPAction urn:vim25/<the server's
 * API version>, the session in the vmware_soap_session cookie, faults as VimFault. Only the
 * methods the driver uses; each request bounded in time.
 */

export interface VimOptions {
  host: string;
  port: number;
  /** Skip certificate verification (the original always did). */
  insecure?: boolean;
  /** CA certificates (PEM) that may sign vCenter's certificate, besides the usual ones. */
  ca?: string[];
  timeoutMs?: number;
  debug?(line: string): void;
}

export interface ServiceContent {
  rootFolder: MoRef;
  propertyCollector: MoRef;
  searchIndex: MoRef;
  fileManager: MoRef;
  viewManager: MoRef;
  sessionManager: MoRef;
  apiVersion: string;
  /** "VirtualCenter" or "HostAgent" (a lone ESXi). */
  apiType: string;
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const SERVICE_INSTANCE: MoRef = { type: 'ServiceInstance', value: 'ServiceInstance' };
/** The version asked in before the server says its own: every vSphere since 2015 speaks it. */
const FIRST_VERSION = '6.0';

export function moRef(n: XNode | undefined): MoRef | undefined {
  if (!n) return undefined;
  const type = n.attrs.type ?? '';
  const value = n.text.trim();
  return type && value ? { type, value } : undefined;
}

export class VimClient {
  readonly base: string;
  private readonly agent: Agent;
  private cookie = '';
  private restSession = '';
  private version = FIRST_VERSION;
  private sc: ServiceContent | undefined;

  constructor(private readonly o: VimOptions) {
    const host = o.host.includes(':') && !o.host.startsWith('[') ? `[${o.host}]` : o.host;
    this.base = `https://${host}:${o.port}`;
    this.agent = new Agent({
      keepAlive: true,
      rejectUnauthorized: !o.insecure,
      ...(o.ca?.length ? { ca: o.ca } : {}),
    });
  }

  get content(): ServiceContent {
    if (!this.sc) throw new Error('VimClient: connect() first');
    return this.sc;
  }

  /** Reads the service content (and with it the API version every later call is sent in). */
  async connect(): Promise<ServiceContent> {
    const r = await this.call('RetrieveServiceContent', SERVICE_INSTANCE, '');
    const c = child(r, 'returnval');
    const need = (name: string): MoRef => {
      const m = moRef(child(c, name));
      if (!m)
        throw new MachineError(`vSphere at ${this.base} answered without ${name}: is it vCenter or ESXi?`);
      return m;
    };
    const about = child(c, 'about');
    this.sc = {
      rootFolder: need('rootFolder'),
      propertyCollector: need('propertyCollector'),
      searchIndex: need('searchIndex'),
      fileManager: need('fileManager'),
      viewManager: moRef(child(c, 'viewManager')) ?? { type: 'ViewManager', value: '' },
      sessionManager: need('sessionManager'),
      apiVersion: childText(about, 'apiVersion'),
      apiType: childText(about, 'apiType'),
    };
    if (/^\d+\.\d+/.test(this.sc.apiVersion)) this.version = this.sc.apiVersion;
    return this.sc;
  }

  async login(user: string, password: string): Promise<void> {
    await this.call(
      'Login',
      this.content.sessionManager,
      val('userName', user) + val('password', password),
      'Login(<credentials redacted>)',
    );
    if (!this.cookie) throw new MachineError(`vSphere at ${this.base} gave no session cookie at login`);
  }

  async logout(): Promise<void> {
    try {
      if (this.restSession)
        await this.send('DELETE', '/rest/com/vmware/cis/session', '', {
          'vmware-api-session-id': this.restSession,
        });
      if (this.cookie && this.sc) await this.call('Logout', this.sc.sessionManager, '');
    } catch {
      // The session times out on its own; a failed logout changes nothing for the user.
    } finally {
      this.cookie = '';
      this.restSession = '';
      this.agent.destroy();
    }
  }

  /** One method call: the method's Response element, or a VimFault. */
  async call(method: string, self: MoRef, body: string, debugAs?: string): Promise<XNode> {
    const payload = envelope(method, self, body);
    this.o.debug?.(`vSphere ${method} ${self.type}:${self.value}${debugAs ? ` ${debugAs}` : ''}`);
    const res = await this.send('POST', '/sdk', payload, {
      'Content-Type': 'text/xml; charset=utf-8',
      SOAPAction: `urn:vim25/${this.version}`,
    });
    let doc: XNode;
    try {
      doc = parseXML(res.body);
    } catch (err) {
      throw new VimFault(
        'SystemError',
        `${method}: HTTP ${res.status} with an answer that is not XML (${errorMessage(err)})`,
      );
    }
    const soapBody = child(doc, 'Body');
    const fault = child(soapBody, 'Fault');
    if (fault) throw soapFault(fault);
    const answer = soapBody?.children[0];
    if (!answer || res.status >= 300)
      throw new VimFault('SystemError', `${method}: HTTP ${res.status} without an answer`);
    return answer;
  }

  /** The returnval of a call that answers one managed object reference (undefined when none). */
  async callRef(method: string, self: MoRef, body: string): Promise<MoRef | undefined> {
    return moRef(child(await this.call(method, self, body), 'returnval'));
  }

  /** An inventory path ("DC0/vm/folder/name") to its object, or undefined. */
  async findByInventoryPath(path: string): Promise<MoRef | undefined> {
    return this.callRef('FindByInventoryPath', this.content.searchIndex, val('inventoryPath', path));
  }

  /** The named children of a folder-like object (a datacenter's vmFolder, a pool). */
  async findChild(entity: MoRef, name: string): Promise<MoRef | undefined> {
    return this.callRef('FindChild', this.content.searchIndex, ref('entity', entity) + val('name', name));
  }

  /**
   * Properties of objects: for each object, its property values as elements (the `val` of each
   * DynamicProperty), by property path. A missing object answers ManagedObjectNotFound.
   */
  async properties(objs: MoRef[], props: string[]): Promise<Map<string, Record<string, XNode>>> {
    const out = new Map<string, Record<string, XNode>>();
    if (!objs.length) return out;
    const byType = new Map<string, MoRef[]>();
    for (const o of objs) byType.set(o.type, [...(byType.get(o.type) ?? []), o]);
    const propSet = [...byType.keys()].map((type) =>
      el('propSet', [val('type', type), val('all', false), props.map((p) => val('pathSet', p))]),
    );
    const objectSet = objs.map((o) => el('objectSet', [ref('obj', o), val('skip', false)]));
    const spec = el('specSet', [propSet, objectSet]);
    for (const o of await this.retrieve(spec)) out.set(o.ref.value, o.p);
    return out;
  }

  /** RetrievePropertiesEx for a filter spec, its pages followed: each object with its properties. */
  private async retrieve(spec: string): Promise<{ ref: MoRef; p: Record<string, XNode> }[]> {
    const out: { ref: MoRef; p: Record<string, XNode> }[] = [];
    let r = await this.call('RetrievePropertiesEx', this.content.propertyCollector, spec + el('options', ''));
    for (;;) {
      const rv = child(r, 'returnval');
      for (const oc of childrenNamed(rv, 'objects')) {
        const obj = moRef(child(oc, 'obj'));
        if (!obj) continue;
        const p: Record<string, XNode> = {};
        for (const dp of childrenNamed(oc, 'propSet')) {
          const v = child(dp, 'val');
          if (v) p[childText(dp, 'name')] = v;
        }
        out.push({ ref: obj, p });
      }
      const token = childText(rv, 'token');
      if (!token) return out;
      r = await this.call(
        'ContinueRetrievePropertiesEx',
        this.content.propertyCollector,
        val('token', token),
      );
    }
  }

  /** One object's properties. */
  async props(obj: MoRef, props: string[]): Promise<Record<string, XNode>> {
    return (await this.properties([obj], props)).get(obj.value) ?? {};
  }

  /**
   * Every object of a type under a container (a datacenter, a folder), with the properties asked,
   * through a container view that is destroyed afterwards.
   */
  async list(
    container: MoRef,
    type: string,
    props: string[],
  ): Promise<{ ref: MoRef; p: Record<string, XNode> }[]> {
    const view = await this.callRef(
      'CreateContainerView',
      this.content.viewManager,
      ref('container', container) + val('type', type) + val('recursive', true),
    );
    if (!view) return [];
    try {
      const spec = el('specSet', [
        el('propSet', [val('type', type), val('all', false), props.map((p) => val('pathSet', p))]),
        el('objectSet', [
          ref('obj', view),
          val('skip', true),
          el(
            'selectSet',
            [val('name', 'view'), val('type', 'ContainerView'), val('path', 'view'), val('skip', false)],
            'TraversalSpec',
          ),
        ]),
      ]);
      return await this.retrieve(spec);
    } finally {
      await this.call('DestroyView', view, '').catch(() => undefined);
    }
  }

  /**
   * Polls a task's info until it succeeds (its result, if any) or fails (its fault), every 200 ms
   * doubling to 2 s, within timeoutMs.
   */
  async waitTask(
    task: MoRef,
    what: string,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<XNode | undefined> {
    const started = Date.now();
    let pause = 200;
    for (;;) {
      const info = (await this.props(task, ['info'])).info;
      const state = childText(info, 'state');
      if (state === 'success') return child(info, 'result');
      if (state === 'error') {
        const e = child(info, 'error');
        throw e ? methodFault(e) : new VimFault('SystemError', `${what} failed`);
      }
      const waited = Date.now() - started;
      if (waited + pause > timeoutMs)
        throw new MachineError(
          `Waited ${Math.round(waited / 1000)} s for vSphere to finish ${what}; it is still ${state || 'queued'} (task ${task.value})`,
        );
      if (signal?.aborted) throw new MachineError('interrupted before it finished');
      await new Promise((r) => setTimeout(r, pause));
      pause = Math.min(pause * 2, 2000);
    }
  }

  /** A method that starts a task, waited for: the task's result. */
  async runTask(
    method: string,
    self: MoRef,
    body: string,
    what: string,
    timeoutMs: number,
    signal?: AbortSignal,
    onTask?: (task: MoRef) => void,
  ): Promise<XNode | undefined> {
    const task = await this.callRef(method, self, body);
    if (!task) throw new VimFault('SystemError', `${method} answered no task`);
    onTask?.(task);
    return this.waitTask(task, what, timeoutMs, signal);
  }

  /**
   * A local file to a datastore, by HTTP PUT to /folder/<path>?dcPath=&dsName= in this session.
   * `path` is inside the datastore ("m1/seed.iso").
   */
  async upload(file: string, datacenterPath: string, datastore: string, path: string): Promise<void> {
    const size = (await stat(file)).size;
    const q = new URLSearchParams({ dcPath: datacenterPath, dsName: datastore });
    const url = `/folder/${path.split('/').map(encodeURIComponent).join('/')}?${q}`;
    this.o.debug?.(`vSphere PUT ${url} (${size} bytes)`);
    const res = await this.send('PUT', url, createReadStream(file), {
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(size),
    });
    if (res.status >= 300)
      throw new VimFault(
        res.status === 404 ? 'NotFound' : 'SystemError',
        `uploading ${path} to datastore ${datastore}: HTTP ${res.status} ${res.body.slice(0, 200).trim()}`,
      );
  }

  /**
   * A call to vCenter's Automation REST API under /rest (content libraries), with the same trust,
   * in a session of its own opened by `restLogin`. JSON in and out; the answer's "value".
   */
  async rest<T>(method: string, path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? '' : JSON.stringify(body);
    this.o.debug?.(`vSphere REST ${method} ${path}`);
    const res = await this.send(method, `/rest${path}`, payload, {
      'Content-Type': 'application/json',
      Accept: 'application/json',
      ...(this.restSession ? { 'vmware-api-session-id': this.restSession } : {}),
    });
    let parsed: { value?: T; type?: string; messages?: { default_message?: string }[] } = {};
    try {
      parsed = res.body ? JSON.parse(res.body) : {};
    } catch {}
    if (res.status >= 300) {
      const msg =
        parsed.value && typeof parsed.value === 'object'
          ? ((parsed.value as { messages?: { default_message?: string }[] }).messages?.[0]?.default_message ??
            '')
          : String(parsed.value ?? res.body.slice(0, 200));
      throw new VimFault(
        res.status === 404 ? 'NotFound' : res.status === 400 ? 'InvalidArgument' : 'SystemError',
        `${method} /rest${path}: HTTP ${res.status}${msg ? ` ${msg.trim()}` : ''}`,
      );
    }
    return parsed.value as T;
  }

  async restLogin(user: string, password: string): Promise<void> {
    const basic = Buffer.from(`${user}:${password}`).toString('base64');
    this.o.debug?.('vSphere REST POST /com/vmware/cis/session (credentials redacted)');
    const res = await this.send('POST', '/rest/com/vmware/cis/session', '', {
      Authorization: `Basic ${basic}`,
    });
    if (res.status === 401 || res.status === 403)
      throw new VimFault('InvalidLogin', 'the Automation API refused the user name or password');
    if (res.status >= 300)
      throw new VimFault(
        'SystemError',
        `this vSphere has no content-library API (HTTP ${res.status} at /rest)`,
      );
    const v = (JSON.parse(res.body) as { value?: string }).value;
    if (!v) throw new VimFault('SystemError', 'the Automation API gave no session');
    this.restSession = v;
  }

  private send(
    method: string,
    path: string,
    body: string | NodeJS.ReadableStream,
    headers: Record<string, string>,
  ): Promise<Answer> {
    const url = new URL(path, this.base);
    const timeout = this.o.timeoutMs ?? 5 * 60_000;
    return new Promise<Answer>((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          agent: this.agent,
          headers: {
            ...headers,
            ...(typeof body === 'string' ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}),
            ...(this.cookie ? { Cookie: this.cookie } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const set = res.headers['set-cookie'] ?? [];
            for (const c of set) {
              const m = /^(vmware_soap_session=[^;]*)/.exec(c);
              if (m) this.cookie = m[1];
            }
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            });
          });
        },
      );
      req.setTimeout(timeout, () =>
        req.destroy(new Error(`no answer within ${Math.round(timeout / 1000)} s`)),
      );
      req.on('error', (err) => {
        const code = (err as NodeJS.ErrnoException).code ?? '';
        const untrusted = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS_CERT/.test(code);
        const hint = untrusted
          ? ' (its certificate is not trusted here: give its CA with --vmwarevsphere-cacert, or --vmwarevsphere-insecure to skip the check)'
          : '';
        reject(
          new CloudUnreachableError(
            `vSphere at ${this.base} could not be reached: ${errorMessage(err)}${hint}`,
          ),
        );
      });
      if (typeof body === 'string') req.end(body);
      else body.pipe(req);
    });
  }
}

/** A property's value as text. */
export function textOf(n: XNode | undefined): string {
  return n?.text.trim() ?? '';
}

/** The elements of an ArrayOf* property value (their element names vary by type). */
export function items(n: XNode | undefined): XNode[] {
  return n ? n.children : [];
}

export { xsiType };
