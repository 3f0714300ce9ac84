// Flex Consumption plan and the function app (Python 3.13, system-assigned managed identity).
// No always-ready instances: the app scales to zero and costs nothing while idle.
param location string
param tags object
param name string
param planName string
param storageAccountName string
param deploymentContainerName string
param applicationInsightsName string

@minValue(40)
@maxValue(1000)
param maximumInstanceCount int

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int

@description('App settings (name: value) besides the storage and Application Insights ones set here.')
param appSettings object

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225:Not zone redundant, on purpose: a zone-redundant Flex Consumption plan needs zone-redundant (ZRS) storage, which costs more than LRS. Orchestration state is durable in storage and the saga resumes after an outage.
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_17:HubSpot and Xero cannot present client certificates; webhooks are authenticated by their HMAC signatures and the operator API by function keys.
  // checkov:skip=CKV_AZURE_222:HubSpot and Xero call the webhooks from the internet, so public network access must stay enabled; every route but /api/health needs a signature or a function key.
  // checkov:skip=CKV_AZURE_212:A minimum instance count means always-ready instances, a standing cost this app avoids; Flex Consumption starts instances on demand and durable state lives in storage.
  // checkov:skip=CKV_AZURE_213:No platform health probe: /api/health exists for an external availability test, and probes every minute would keep instances busy on a plan billed per execution.
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.13'
      }
    }
  }
}

// Identity-based storage for the Functions host, Durable Functions' Azure Storage provider and the
// ledger (shared/config.py reads AzureWebJobsStorage__accountName and __tableServiceUri): there is
// no AzureWebJobsStorage connection string in Azure. Telemetry is sent with the app's identity.
//
// checkov reads every Microsoft.Web/sites/config as the 'web' config; this one is 'appsettings'
// (name: value pairs only), so the web-config checks skipped below do not apply to it. The web
// configuration is siteConfig on the site above, where those checks run.
resource settings 'Microsoft.Web/sites/config@2024-04-01' = {
  // checkov:skip=CKV_AZURE_13:Not applicable to the appsettings config. App Service Authentication would also reject HubSpot's and Xero's webhook calls; webhooks are verified by signature and the operator API needs a function key.
  // checkov:skip=CKV_AZURE_63:Not applicable to the appsettings config. Web-server HTTP logs do not exist on Flex Consumption; requests are logged to Application Insights.
  // checkov:skip=CKV_AZURE_65:Not applicable to the appsettings config. Detailed IIS error pages do not exist on Linux Flex Consumption; errors go to Application Insights.
  // checkov:skip=CKV_AZURE_66:Not applicable to the appsettings config. Failed request tracing is an IIS feature absent on Linux Flex Consumption; failures go to Application Insights.
  // checkov:skip=CKV_AZURE_80:Not applicable: the app runs Python 3.13, not .NET.
  // checkov:skip=CKV_AZURE_88:Not applicable: Flex Consumption has no Azure Files content share (the package is in a blob container, and shared-key access is disabled).
  // checkov:skip=CKV_AZURE_222:Not applicable to the appsettings config; on the site, public access is needed for HubSpot's and Xero's webhooks (see the site).
  parent: app
  name: 'appsettings'
  properties: union(appSettings, {
    AzureWebJobsStorage__accountName: storage.name
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
    AzureWebJobsStorage__queueServiceUri: storage.properties.primaryEndpoints.queue
    AzureWebJobsStorage__tableServiceUri: storage.properties.primaryEndpoints.table
    APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD'
    PUBLIC_BASE_URL: empty(appSettings.PUBLIC_BASE_URL) ? 'https://${app.properties.defaultHostName}' : appSettings.PUBLIC_BASE_URL
  })
}

// Deployments (azd) use Microsoft Entra tokens; basic-auth publishing credentials stay off.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = app.name
output url string = 'https://${app.properties.defaultHostName}'
output principalId string = app.identity.principalId
