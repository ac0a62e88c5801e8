import { sshUser, tcpPort } from '../../flags/checks.js';
import type { FlagDef } from '../../flags/def.js';

/**
 * The flags and environment variables of the original azure driver (spec §7.8), with what the
 * forks added that users rely on (managed disks and their SKU and size, availability zones,
 * accelerated networking, tags, an existing NSG or public IP, the tenant) and the port's own
 * (a client certificate, the Resource Manager and authority endpoints for other clouds and tests,
 * deallocation on stop).
 */

/**
 * The original's Standard_A2 was retired with the A-series (2024-08-31); a current general
 * purpose size with two vCPUs.
 */
export const DEFAULT_SIZE = 'Standard_D2s_v3';
/** The original's canonical:UbuntuServer:16.04.0-LTS:latest is past its support; a current LTS. */
export const DEFAULT_IMAGE = 'Canonical:ubuntu-24_04-lts:server:latest';
export const DEFAULT_ENVIRONMENT = 'AzurePublicCloud';

/** Values of required options (the original refused an empty one with its own error). */
export const REQUIRED: [flag: string, env: string][] = [
  ['azure-ssh-user', 'AZURE_SSH_USER'],
  ['azure-subscription-id', 'AZURE_SUBSCRIPTION_ID'],
  ['azure-resource-group', 'AZURE_RESOURCE_GROUP'],
  ['azure-location', 'AZURE_LOCATION'],
  ['azure-size', 'AZURE_SIZE'],
  ['azure-image', 'AZURE_IMAGE'],
  ['azure-vnet', 'AZURE_VNET'],
  ['azure-subnet', 'AZURE_SUBNET'],
  ['azure-subnet-prefix', 'AZURE_SUBNET_PREFIX'],
  ['azure-availability-set', 'AZURE_AVAILABILITY_SET'],
  ['azure-storage-type', 'AZURE_STORAGE_TYPE'],
];

export const flags: FlagDef[] = [
  {
    name: 'azure-environment',
    kind: 'string',
    envVar: 'AZURE_ENVIRONMENT',
    default: DEFAULT_ENVIRONMENT,
    usage: 'Azure environment (AzurePublicCloud, AzureChinaCloud, AzureUSGovernmentCloud)',
  },
  {
    name: 'azure-subscription-id',
    kind: 'string',
    envVar: 'AZURE_SUBSCRIPTION_ID',
    usage: 'Azure Subscription ID (required)',
  },
  {
    name: 'azure-tenant-id',
    kind: 'string',
    envVar: 'AZURE_TENANT_ID',
    usage: "Azure Active Directory tenant (default: found from the subscription's sign-in challenge)",
  },
  {
    name: 'azure-client-id',
    kind: 'string',
    envVar: 'AZURE_CLIENT_ID',
    usage: 'Azure Service Principal Account ID (optional, browser auth is used if not specified)',
  },
  {
    name: 'azure-client-secret',
    kind: 'string',
    envVar: 'AZURE_CLIENT_SECRET',
    usage: 'Azure Service Principal Account password (optional, browser auth is used if not specified)',
  },
  {
    name: 'azure-client-certificate',
    kind: 'string',
    envVar: 'AZURE_CLIENT_CERTIFICATE_PATH',
    usage: "PEM file with the Service Principal's certificate and private key (instead of a secret)",
  },
  {
    name: 'azure-resource-manager-endpoint',
    kind: 'string',
    envVar: 'AZURE_RESOURCE_MANAGER_ENDPOINT',
    usage: "Resource Manager URL (default: the environment's), for Azure Stack or a private cloud",
  },
  {
    name: 'azure-authority-host',
    kind: 'string',
    envVar: 'AZURE_AUTHORITY_HOST',
    usage: "Microsoft Entra sign-in URL (default: the environment's)",
  },
  {
    name: 'azure-resource-group',
    kind: 'string',
    envVar: 'AZURE_RESOURCE_GROUP',
    default: 'docker-machine',
    usage: 'Azure Resource Group name (will be created if missing)',
  },
  {
    name: 'azure-location',
    kind: 'string',
    envVar: 'AZURE_LOCATION',
    default: 'westus',
    usage: 'Azure region to create the virtual machine',
  },
  {
    name: 'azure-size',
    kind: 'string',
    envVar: 'AZURE_SIZE',
    default: DEFAULT_SIZE,
    usage: 'Size for Azure Virtual Machine',
  },
  {
    name: 'azure-image',
    kind: 'string',
    envVar: 'AZURE_IMAGE',
    default: DEFAULT_IMAGE,
    usage: 'Azure virtual machine OS image (publisher:offer:sku:version)',
  },
  {
    name: 'azure-ssh-user',
    kind: 'string',
    envVar: 'AZURE_SSH_USER',
    default: 'docker-user',
    check: sshUser,
    usage: 'Username for SSH login',
  },
  {
    name: 'azure-docker-port',
    kind: 'int',
    envVar: 'AZURE_DOCKER_PORT',
    default: 2376,
    check: tcpPort,
    usage: 'Port number for Docker engine',
  },
  {
    name: 'azure-ssh-port',
    kind: 'int',
    envVar: 'AZURE_SSH_PORT',
    default: 22,
    check: tcpPort,
    usage: 'Port number for SSH (the image must listen on it)',
  },
  {
    name: 'azure-vnet',
    kind: 'string',
    envVar: 'AZURE_VNET',
    default: 'docker-machine-vnet',
    usage: 'Azure Virtual Network name to connect the virtual machine (in [resourcegroup:]name format)',
  },
  {
    name: 'azure-subnet',
    kind: 'string',
    envVar: 'AZURE_SUBNET',
    default: 'docker-machine',
    usage: 'Azure Subnet Name to be used within the Virtual Network',
  },
  {
    name: 'azure-subnet-prefix',
    kind: 'string',
    envVar: 'AZURE_SUBNET_PREFIX',
    default: '192.168.0.0/16',
    usage: 'Private CIDR block to be used for the new subnet, should comply RFC 1918',
  },
  {
    name: 'azure-nsg',
    kind: 'string',
    envVar: 'AZURE_NSG',
    usage:
      'An existing network security group ([resourcegroup:]name) for the NIC, used as it is (default: a new <machine>-firewall)',
  },
  {
    name: 'azure-availability-set',
    kind: 'string',
    envVar: 'AZURE_AVAILABILITY_SET',
    default: 'docker-machine',
    usage: 'Azure Availability Set to place the virtual machine into',
  },
  {
    name: 'azure-fault-domain-count',
    kind: 'int',
    envVar: 'AZURE_FAULT_DOMAIN_COUNT',
    default: 2,
    usage: 'Fault domains of a new availability set (1-3)',
  },
  {
    name: 'azure-update-domain-count',
    kind: 'int',
    envVar: 'AZURE_UPDATE_DOMAIN_COUNT',
    default: 5,
    usage: 'Update domains of a new availability set (1-20)',
  },
  {
    name: 'azure-availability-zone',
    kind: 'string',
    envVar: 'AZURE_AVAILABILITY_ZONE',
    usage:
      'Availability zone (1, 2 or 3) for the virtual machine and its public IP; not with an availability set',
  },
  {
    name: 'azure-custom-data',
    kind: 'string',
    envVar: 'AZURE_CUSTOM_DATA_FILE',
    usage: 'Path to file with custom-data',
  },
  {
    name: 'azure-private-ip-address',
    kind: 'string',
    usage: 'Specify a static private IP address for the machine',
  },
  {
    name: 'azure-storage-type',
    kind: 'string',
    envVar: 'AZURE_STORAGE_TYPE',
    default: 'Standard_LRS',
    usage: 'Type of Storage for the virtual machine: the SKU of its managed OS disk',
  },
  {
    name: 'azure-disk-sku',
    kind: 'string',
    envVar: 'AZURE_DISK_SKU',
    usage:
      'SKU of the managed OS disk (Standard_LRS, StandardSSD_LRS, Premium_LRS, ...); wins over --azure-storage-type',
  },
  {
    name: 'azure-disk-size',
    kind: 'int',
    envVar: 'AZURE_DISK_SIZE',
    usage: "Size of the OS disk in GB (default: the image's)",
  },
  {
    name: 'azure-managed-disks',
    kind: 'bool',
    envVar: 'AZURE_MANAGED_DISKS',
    usage: 'Use managed disks (always on: unmanaged disks are retired)',
  },
  {
    name: 'azure-use-private-ip',
    kind: 'bool',
    usage: 'Use private IP address of the machine to connect',
  },
  {
    name: 'azure-no-public-ip',
    kind: 'bool',
    usage: 'Do not create a public IP address for the machine',
  },
  {
    name: 'azure-static-public-ip',
    kind: 'bool',
    usage: 'Assign a static public IP address to the machine (every new public IP is static now)',
  },
  {
    name: 'azure-public-ip',
    kind: 'string',
    envVar: 'AZURE_PUBLIC_IP',
    usage: 'An existing, unattached public IP address ([resourcegroup:]name) for the machine; never deleted',
  },
  {
    name: 'azure-enable-public-ip-standard-sku',
    kind: 'bool',
    usage: 'Use the Standard SKU for the public IP (always on: the Basic SKU is retired)',
  },
  {
    name: 'azure-dns',
    kind: 'string',
    envVar: 'AZURE_DNS_LABEL',
    usage: 'A unique DNS label for the public IP address',
  },
  {
    name: 'azure-open-port',
    kind: 'stringSlice',
    usage: 'Make the specified port number accessible from the Internet (PORT or PORT/tcp or PORT/udp)',
  },
  {
    name: 'azure-accelerated-networking',
    kind: 'bool',
    envVar: 'AZURE_ACCELERATED_NETWORKING',
    usage: 'Enable accelerated networking on the NIC (the size must support it)',
  },
  {
    name: 'azure-tags',
    kind: 'string',
    envVar: 'AZURE_TAGS',
    usage: 'Tags for the resources the create makes (key1,value1,key2,value2)',
  },
  {
    name: 'azure-deallocate-on-stop',
    kind: 'bool',
    envVar: 'AZURE_DEALLOCATE_ON_STOP',
    usage:
      'stop deallocates the virtual machine (no compute billing while stopped) instead of powering it off',
  },
];
