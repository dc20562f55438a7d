# Optional load-balancer Service giving the workload an address outside the cluster (MetalLB
# on the bare-metal hypervisors); the in-cluster ClusterIP Service is rendered by Ansible.

terraform {
  required_providers {
    kubernetes = { source = "hashicorp/kubernetes" }
  }
}

variable "enabled" { type = bool }
variable "namespace" { type = string }
variable "workload" { type = string }
variable "address" {
  type        = string
  description = "requested address; empty lets the pool choose"
}
variable "port" { type = number }

resource "kubernetes_service_v1" "lb" {
  count = var.enabled ? 1 : 0
  metadata {
    name        = "${var.workload}-lb"
    namespace   = var.namespace
    labels      = { "app.kubernetes.io/name" = var.workload, "app.kubernetes.io/managed-by" = "sizer" }
    annotations = var.address == "" ? {} : { "metallb.universe.tf/loadBalancerIPs" = var.address }
  }
  spec {
    type     = "LoadBalancer"
    selector = { "app.kubernetes.io/name" = var.workload }
    port {
      name        = "http"
      port        = 80
      target_port = var.port
    }
  }
}

output "address" {
  value = var.enabled ? try(kubernetes_service_v1.lb[0].status[0].load_balancer[0].ingress[0].ip, var.address) : ""
}
