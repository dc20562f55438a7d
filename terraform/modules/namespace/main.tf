# A tenant namespace with a ResourceQuota and a LimitRange: the multi-tenant isolation a new
# service gets. With manage = false (the namespace exists and belongs to someone else) it
# creates nothing, so two services never fight over one namespace's quota.

terraform {
  required_providers {
    kubernetes = { source = "hashicorp/kubernetes" }
  }
}

variable "name" { type = string }
variable "manage" { type = bool }
variable "owner" {
  type        = string
  description = "namespace/workload that owns this namespace"
}
variable "labels" { type = map(string) }
variable "quota" {
  type = object({
    requests_cpu     = string
    requests_memory  = string
    limits_cpu       = string
    limits_memory    = string
    pods             = number
    requests_storage = string
  })
}
variable "limit_defaults" {
  type = object({
    request_cpu    = string
    request_memory = string
    limit_cpu      = string
    limit_memory   = string
  })
}

# An empty string leaves that entry out: a proposal without a CPU limit (to avoid
# throttling) must not get one from the namespace defaults, nor a quota that demands one.
locals {
  count = var.manage ? 1 : 0
  hard = { for k, v in {
    "requests.cpu"     = var.quota.requests_cpu
    "requests.memory"  = var.quota.requests_memory
    "limits.cpu"       = var.quota.limits_cpu
    "limits.memory"    = var.quota.limits_memory
    "pods"             = tostring(var.quota.pods)
    "requests.storage" = var.quota.requests_storage
  } : k => v if v != "" }
  default_limit = { for k, v in {
    cpu    = var.limit_defaults.limit_cpu
    memory = var.limit_defaults.limit_memory
  } : k => v if v != "" }
}

resource "kubernetes_namespace_v1" "this" {
  count = local.count
  metadata {
    name        = var.name
    labels      = merge(var.labels, { "app.kubernetes.io/managed-by" = "sizer" })
    annotations = { "sizer.dev/owner" = var.owner }
  }
}

resource "kubernetes_resource_quota_v1" "this" {
  count = local.count
  metadata {
    name      = "sizer-quota"
    namespace = kubernetes_namespace_v1.this[0].metadata[0].name
  }
  spec {
    hard = local.hard
  }
}

resource "kubernetes_limit_range_v1" "this" {
  count = local.count
  metadata {
    name      = "sizer-defaults"
    namespace = kubernetes_namespace_v1.this[0].metadata[0].name
  }
  spec {
    limit {
      type            = "Container"
      default_request = { cpu = var.limit_defaults.request_cpu, memory = var.limit_defaults.request_memory }
      default         = local.default_limit
    }
  }
}

output "name" {
  value = var.name
}
