import { MachineError } from '../../../errors.js';

/**
 * The Azure clouds the original's --azure-environment named, by the same names (matched without
 * regard to case, as it matched them). Each national cloud has its own Resource Manager and its
 * own Azure AD: a token from one is worthless at the other.
 */
export interface AzureCloud {
  /** AzurePublicCloud, AzureChinaCloud or AzureUSGovernmentCloud. */
  name: string;
  /** Resource Manager's base URL, with a trailing slash. */
  resourceManager: string;
  /** Azure AD's host (the "authority host"), with a trailing slash; tenants are paths below it. */
  authorityHost: string;
  /** The OAuth scope of a token for Resource Manager: its audience and /.default. */
  armScope: string;
}

const CLOUDS: Record<string, { resourceManager: string; authorityHost: string }> = {
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

export const DEFAULT_CLOUD = 'AzurePublicCloud';

/**
 * The named cloud, with a custom Resource Manager endpoint (--azure-resource-manager-endpoint: a
 * private gateway, or a test's fake) and authority host (--azure-authority-host or
 * AZURE_AUTHORITY_HOST) in place of its own where given. Both must be https: a bearer token is
 * never sent in the clear.
 */
export function azureCloud(
  name: string | undefined,
  o: { resourceManager?: string; authorityHost?: string } = {},
): AzureCloud {
  const wanted = (name ?? '').trim() || DEFAULT_CLOUD;
  const key = Object.keys(CLOUDS).find((k) => k.toLowerCase() === wanted.toLowerCase());
  if (!key) {
    if (wanted.toLowerCase() === 'azuregermancloud') {
      throw new MachineError(
        'azure environment AzureGermanCloud (Microsoft Cloud Deutschland) was closed in October 2021; its regions moved to AzurePublicCloud (germanywestcentral, germanynorth): use --azure-environment AzurePublicCloud',
      );
    }
    throw new MachineError(
      `unknown azure environment "${wanted}" (--azure-environment, AZURE_ENVIRONMENT); use one of ${Object.keys(CLOUDS).join(', ')}`,
    );
  }
  const resourceManager = o.resourceManager
    ? httpsBase(o.resourceManager, '--azure-resource-manager-endpoint')
    : CLOUDS[key].resourceManager;
  const authorityHost = o.authorityHost
    ? httpsBase(o.authorityHost, '--azure-authority-host (AZURE_AUTHORITY_HOST)')
    : CLOUDS[key].authorityHost;
  // The audience is Resource Manager's URL without its slash: "https://management.azure.com/.default".
  return {
    name: key,
    resourceManager,
    authorityHost,
    armScope: `${resourceManager.replace(/\/+$/, '')}/.default`,
  };
}

function httpsBase(value: string, what: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new MachineError(`${what} "${value}" is not a URL; give it as https://HOST[:PORT]/`);
  }
  if (url.protocol !== 'https:') {
    throw new MachineError(
      `${what} "${value}" must be an https:// URL: tokens are never sent over plain http`,
    );
  }
  if (url.search || url.hash || url.username) {
    throw new MachineError(
      `${what} "${value}" must be a plain https://HOST[:PORT][/PATH]/, without a query or user`,
    );
  }
  return url.href.endsWith('/') ? url.href : `${url.href}/`;
}
