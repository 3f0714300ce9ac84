// Parameters for `azd up`: azd sets AZURE_ENV_NAME, AZURE_LOCATION and AZURE_PRINCIPAL_ID; set the
// others with `azd env set NAME value` before `azd up` (see docs/deploy.md).
using './main.bicep'

param environmentName = readEnvironmentVariable('AZURE_ENV_NAME', 'dealsync')
param location = readEnvironmentVariable('AZURE_LOCATION', 'westeurope')
param principalId = readEnvironmentVariable('AZURE_PRINCIPAL_ID', '')
param principalType = readEnvironmentVariable('AZURE_PRINCIPAL_TYPE', 'User')
param xeroAuthMode = readEnvironmentVariable('XERO_AUTH_MODE', 'custom_connection')
param xeroTenantId = readEnvironmentVariable('XERO_TENANT_ID', '')
param xeroCallsPerDay = readEnvironmentVariable('XERO_CALLS_PER_DAY', '5000')
param hubspotPortalId = readEnvironmentVariable('HUBSPOT_PORTAL_ID', '')
param hubspotTriggerStage = readEnvironmentVariable('HUBSPOT_TRIGGER_STAGE', 'closedwon')
param syncSchedule = readEnvironmentVariable('SYNC_SCHEDULE', '0 */15 * * * *')
param publicBaseUrl = readEnvironmentVariable('PUBLIC_BASE_URL', '')
param alertEmail = readEnvironmentVariable('ALERT_EMAIL', '')
param logDailyCapGb = 1
param logRetentionDays = 30
param maximumInstanceCount = 40
param instanceMemoryMB = 2048
param settingOverrides = {}
