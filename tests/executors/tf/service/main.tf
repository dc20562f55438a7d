terraform {
  backend "local" {}
}

module "namespace" {
  source = "../modules/namespace"
  name   = var.namespace
  manage = var.manage_namespace
  owner  = "${var.namespace}/${var.workload}"
  labels = var.labels
  quota = {
    requests_cpu     = var.quota_requests_cpu
    requests_memory  = var.quota_requests_memory
    limits_cpu       = var.quota_limits_cpu
    limits_memory    = var.quota_limits_memory
    pods             = var.quota_pods
    requests_storage = var.quota_requests_storage
  }
  limit_defaults = {
    request_cpu    = var.default_request_cpu
    request_memory = var.default_request_memory
    limit_cpu      = var.default_limit_cpu
    limit_memory   = var.default_limit_memory
  }
}

module "storage" {
  source        = "../modules/storage"
  backend       = var.storage_backend
  storage_class = var.storage_class
  needed        = var.storage_needed
}

module "network" {
  source    = "../modules/network"
  enabled   = var.load_balancer
  namespace = module.namespace.name
  workload  = var.workload
  address   = var.load_balancer_ip
  port      = var.port
}
