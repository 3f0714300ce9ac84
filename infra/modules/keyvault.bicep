// Key Vault for the five secrets (HubSpot access token and app secret, Xero client id, client secret
// and webhook key). RBAC authorization only; soft delete and purge protection on. The secret values
// are set by a person (docs/deploy.md), never passed through a deployment.
param location string
param tags object
param name string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109:Key Vault references of a Flex Consumption app without VNet integration resolve over the vault's public endpoint; every request needs an Entra identity with an RBAC role, and private networking would add standing cost this app is meant to avoid.
  // checkov:skip=CKV_AZURE_189:Same reason as CKV_AZURE_109: public network access stays enabled, access is by RBAC only.
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

output name string = vault.name
output uri string = vault.properties.vaultUri
