import { MachineError } from '../../errors.js';
import type { TokenSource } from './api.js';

/**
 * Stand-in for the auth module (src/drivers/azure/auth/) until it lands: the named clouds'
 * endpoints and a token from $AZURE_ACCESS_TOKEN only.
 */
export interface Cloud {
  name: string;
  resourceManager: string;
  authorityHost: string;
}

const CLOUDS: Record<string, Omit<Cloud, 'name'>> = {
  AzurePublicCloud: {
    resourceManager: 'https://management.azure.com/',
    authorityHost: 'https://login.microsoftonline.com/',
  },
  AzureChinaCloud: {
    resourceManager: 'https://management.chinacloudapi.cn/',
    authorityHost: 'https://login.chinacloudapi.cn/',
  },
  AzureUSGovernmentCloud: {
    resourceManager: 'https://management.usgovcloudapi.net/',
    authorityHost: 'https://login.microsoftonline.us/',
  },
};

export function azureCloud(
  name: string | undefined,
  o: { resourceManager?: string; authorityHost?: string } = {},
): Cloud {
  const key = name || 'AzurePublicCloud';
  const c = CLOUDS[key];
  if (!c)
    throw new MachineError(
      `--azure-environment ${name} is not a cloud this version knows (${Object.keys(CLOUDS).join(', ')})`,
    );
  return {
    name: key,
    resourceManager: o.resourceManager || c.resourceManager,
    authorityHost: o.authorityHost || c.authorityHost,
  };
}

export async function azureTokenSource(o: {
  cloud: Cloud;
  subscriptionId: string;
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  clientCertificatePath?: string;
  cacheDir: string;
  env: NodeJS.ProcessEnv;
  notify(line: string): void;
  signal?: AbortSignal;
  debug?(line: string): void;
}): Promise<TokenSource & { tenantId: string }> {
  return {
    describe: 'a token from $AZURE_ACCESS_TOKEN',
    tenantId: o.tenantId ?? '',
    async token() {
      const t = o.env.AZURE_ACCESS_TOKEN;
      if (!t) throw new MachineError('no Azure credentials: set $AZURE_ACCESS_TOKEN');
      return t;
    },
    invalidate() {},
  };
}
