output "namespace" {
  value = module.namespace.name
}

output "storage_class" {
  value = module.storage.storage_class
}

output "load_balancer_address" {
  value = module.network.address
}
