// Deal-to-invoice sync (HubSpot -> Xero): everything `azd up` provisions.
// One resource group holding a Flex Consumption function app (Python 3.13, system-assigned identity),
// its storage account (identity-only access), Application Insights on Log Analytics, a Key Vault
// for the five secrets and, with alertEmail, a log alert that mails a person. Standing cost is near
// zero: no always-ready instances, Standard_LRS storage, a daily ingestion cap on Log Analytics.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; used to name the resource group and derive unique resource names.')
param environmentName string

@minLength(1)
@description('Azure region of every resource (one that offers Flex Consumption).')
param location string

@description('Object id of the person or service principal running azd; gets Key Vault Secrets Officer so it can set the secrets. Empty: no assignment.')
param principalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
@description('Kind of principal principalId is.')
param principalType string = 'User'

// --- cost and scale ---
@minValue(1)
@description('Log Analytics daily ingestion cap in GB (ingestion stops for the day when reached).')
param logDailyCapGb int = 1

@minValue(30)
@maxValue(730)
@description('Log Analytics retention in days (the first 31 days are included in the ingestion price).')
param logRetentionDays int = 30

@minValue(40)
@maxValue(1000)
@description('Upper bound of Flex Consumption instances (bounds cost and the load on HubSpot and Xero).')
param maximumInstanceCount int = 40

@allowed([
  512
  2048
  4096
])
@description('Memory of each Flex Consumption instance in MB.')
param instanceMemoryMB int = 2048

// --- settings that differ per installation ---
@allowed([
  'custom_connection'
  'web_app'
])
@description('How the app connects to Xero: a custom connection (client credentials) or a Web app (connect at /api/xero/connect).')
param xeroAuthMode string = 'custom_connection'

@description('Xero organisation (tenant) id: required for a custom connection; for a Web app, empty takes the one organisation the user grants.')
param xeroTenantId string = ''

@description('The organisation\'s daily Xero call budget: 1000 on the free Starter tier, 5000 on paid tiers.')
param xeroCallsPerDay string = '5000'

@description('HubSpot account (portal) id, for links to deals. Empty: links without the portal.')
param hubspotPortalId string = ''

@description('The deal stage that means "won, invoice it" (internal stage id).')
param hubspotTriggerStage string = 'closedwon'

@description('HubSpot date-based API version the connector calls (/crm/objects/<version>/...)')
param hubspotApiVersion string = '2026-09'

@description('NCRONTAB schedule of the catch-up batch.')
param syncSchedule string = '0 */15 * * * *'

@description('Public origin HubSpot calls, if a proxy or custom domain sits in front of the app. Empty: the app\'s own https://<host>.')
param publicBaseUrl string = ''

@description('E-mail address told when transactions need a person (needs_attention, or rolled back). Empty: no alert.')
param alertEmail string = ''

@description('Values of the remaining app settings; each key overrides the default in main.bicep.')
param settingOverrides object = {}

var tags = {
  'azd-env-name': environmentName
  app: 'deal-invoice-sync'
}
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var functionAppName = 'func-${resourceToken}'
var storageAccountName = 'st${resourceToken}'
var keyVaultName = 'kv-${resourceToken}'
var deploymentContainerName = 'app-package-${resourceToken}'

// Secret names in Key Vault (docs/deploy.md sets them with `az keyvault secret set`).
var secretNames = {
  hubspotAccessToken: 'hubspot-access-token'
  hubspotAppSecret: 'hubspot-app-secret'
  xeroClientId: 'xero-client-id'
  xeroClientSecret: 'xero-client-secret'
  xeroWebhookKey: 'xero-webhook-key'
}
// Versionless references: a new secret version is picked up on restart (see docs/operations.md).
var secretUriPrefix = 'https://${keyVaultName}${environment().suffixes.keyvaultDns}/secrets/'

// Every setting shared/config.py reads, except the storage ones (identity-based, set by the
// function-app module) and the Application Insights ones (set there too).
var defaultAppSettings = {
  TASK_HUB_NAME: 'DealSyncHub'
  LEDGER_TABLE_NAME: 'SyncLedger'
  // Which Xero contact is each CRM company's: a table of the app's storage account, covered by the
  // Storage Table Data Contributor role granted for the ledger.
  CUSTOMER_MAP_TABLE_NAME: 'CustomerMap'
  // One row per batch of queued deal steps (status page, /api/batches): the same account and role.
  BATCH_TABLE_NAME: 'SyncBatches'
  HUBSPOT_BASE_URL: 'https://api.hubapi.com'
  HUBSPOT_ACCESS_TOKEN: '@Microsoft.KeyVault(SecretUri=${secretUriPrefix}${secretNames.hubspotAccessToken}/)'
  HUBSPOT_APP_SECRET: '@Microsoft.KeyVault(SecretUri=${secretUriPrefix}${secretNames.hubspotAppSecret}/)'
  HUBSPOT_TRIGGER_STAGE: hubspotTriggerStage
  HUBSPOT_PORTAL_ID: hubspotPortalId
  HUBSPOT_APP_URL: 'https://app.hubspot.com'
  HUBSPOT_REQUESTS_PER_10S: '100'
  HUBSPOT_DEAL_READ: 'auto'
  HUBSPOT_API_VERSION: hubspotApiVersion
  XERO_BASE_URL: 'https://api.xero.com/api.xro/2.0'
  XERO_TOKEN_URL: 'https://identity.xero.com/connect/token'
  XERO_CLIENT_ID: '@Microsoft.KeyVault(SecretUri=${secretUriPrefix}${secretNames.xeroClientId}/)'
  XERO_CLIENT_SECRET: '@Microsoft.KeyVault(SecretUri=${secretUriPrefix}${secretNames.xeroClientSecret}/)'
  XERO_AUTH_MODE: xeroAuthMode
  XERO_TENANT_ID: xeroTenantId
  XERO_AUTHORIZE_URL: 'https://login.xero.com/identity/connect/authorize'
  XERO_CONNECTIONS_URL: 'https://api.xero.com/connections'
  XERO_REVOCATION_URL: 'https://identity.xero.com/connect/revocation'
  // The Web app's refresh token lives in this table of the app's storage account (see docs/deploy.md):
  // the app's Storage Table Data Contributor role, granted for the ledger, covers it; nothing more.
  XERO_TOKEN_TABLE_NAME: 'XeroConnection'
  XERO_CALLS_PER_DAY: xeroCallsPerDay
  XERO_WEBHOOK_KEY: '@Microsoft.KeyVault(SecretUri=${secretUriPrefix}${secretNames.xeroWebhookKey}/)'
  XERO_APP_URL: 'https://go.xero.com'
  XERO_CALLS_PER_MINUTE: '60'
  XERO_MAX_CONCURRENT: '5'
  HTTP_TIMEOUT_SECONDS: '20'
  RATE_LIMIT_TIME_SCALE: '1'
  INVOICE_ACCOUNT_CODE: '200'
  INVOICE_TAX_TYPE: 'OUTPUT'
  INVOICE_LINE_AMOUNT_TYPES: 'Exclusive'
  INVOICE_STATUS: 'AUTHORISED'
  DEFAULT_CURRENCY: 'USD'
  DEFAULT_PAYMENT_TERMS_DAYS: '30'
  MAX_INVOICE_TOTAL: '10000000'
  INVOICE_DATE_MAX_AGE_DAYS: '365'
  INVOICE_DATE_MAX_AHEAD_DAYS: '1'
  INVOICE_DATE_OUT_OF_RANGE: 'today'
  CUSTOMER_NAME_COLLISION: 'disambiguate'
  AMOUNT_MISMATCH: 'record'
  AMOUNT_TOLERANCE: '0'
  INVOICE_MAPPING: ''
  SEND_INVOICE_EMAIL: 'false'
  XERO_ORG_CACHE_SECONDS: '600'
  SYNC_SCHEDULE: syncSchedule
  PURGE_SCHEDULE: '0 30 3 * * *'
  HISTORY_RETENTION_DAYS: '30'
  SYNC_BATCH_CONCURRENCY: '50'
  SYNC_BATCH_PAGE_SIZE: '100'
  SAGA_DEADLINE_MINUTES: '120'
  BATCHED_STEPS: 'true'
  BATCH_WAIT_SECONDS: '120'
  BATCH_GATHER_SECONDS: '1'
  BATCH_GATHER_MAX_SECONDS: '10'
  STEP_MAX_ATTEMPTS: '6'
  STEP_RETRY_FIRST_SECONDS: '2'
  STEP_RETRY_MAX_SECONDS: '300'
  COMPENSATION_MAX_ATTEMPTS: '10'
  AUTO_RETRY_UNREACHABLE: 'true'
  AUTO_RETRY_AFTER_MINUTES: '10'
  AUTO_RETRY_MAX: '3'
  ON_DEAL_CHANGED: 'update'
  ON_DEAL_LOST: 'void'
  PUBLIC_BASE_URL: publicBaseUrl
  WEBHOOK_MAX_BODY_BYTES: '1000000'
}

resource rg 'Microsoft.Resources/resourceGroups@2022-09-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    location: location
    tags: tags
    workspaceName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    dailyCapGb: logDailyCapGb
    retentionInDays: logRetentionDays
  }
}

module alerts 'modules/alerts.bicep' = if (!empty(alertEmail)) {
  name: 'alerts'
  scope: rg
  params: {
    location: location
    tags: tags
    namePrefix: resourceToken
    workspaceId: monitoring.outputs.workspaceId
    alertEmail: alertEmail
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    location: location
    tags: tags
    name: storageAccountName
    deploymentContainerName: deploymentContainerName
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    location: location
    tags: tags
    name: keyVaultName
  }
}

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  scope: rg
  params: {
    location: location
    tags: tags
    name: functionAppName
    planName: 'plan-${resourceToken}'
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    appSettings: union(defaultAppSettings, settingOverrides)
  }
}

module roles 'modules/roles.bicep' = {
  name: 'roles'
  scope: rg
  params: {
    appPrincipalId: functionApp.outputs.principalId
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    deployerPrincipalId: principalId
    deployerPrincipalType: principalType
  }
}

output AZURE_LOCATION string = location
output AZURE_RESOURCE_GROUP string = rg.name
output FUNCTION_APP_NAME string = functionApp.outputs.name
output FUNCTION_APP_URL string = functionApp.outputs.url
output STORAGE_ACCOUNT_NAME string = storage.outputs.name
output KEY_VAULT_NAME string = keyVault.outputs.name
output KEY_VAULT_SECRET_NAMES object = secretNames
output HUBSPOT_WEBHOOK_URL string = '${functionApp.outputs.url}/api/webhooks/hubspot'
output XERO_WEBHOOK_URL string = '${functionApp.outputs.url}/api/webhooks/xero'
